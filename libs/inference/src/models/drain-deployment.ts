import { ModelDeployment } from './model-deployment';

const POLL_MS = 50;

/**
 * Resolves once no request runs or waits in the deployment's lanes (true), or after `timeoutMs`
 * (false): a model taken out of service finishes what it admitted before its engine closes.
 */
export async function drainDeployment(d: ModelDeployment, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { inFlight, queued } = d.lanes.stats();
    if (inFlight === 0 && Object.values(queued).every((n) => n === 0)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

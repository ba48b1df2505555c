/** A one-line progress bar on stderr, drawn only when stderr is a terminal (and throttled). */
export class ProgressBar {
  private last = 0;
  private readonly started = Date.now();
  private readonly enabled: boolean;

  constructor(
    private readonly total: number,
    private readonly label: string,
    enabled = true,
  ) {
    this.enabled = enabled && process.stderr.isTTY === true && total > 0;
  }

  update(done: number, extra = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (done < this.total && now - this.last < 100) return;
    this.last = now;
    const width = 30;
    const frac = Math.min(1, done / this.total);
    const fill = Math.round(frac * width);
    const secs = ((now - this.started) / 1000).toFixed(1);
    const bar = `${'#'.repeat(fill)}${'-'.repeat(width - fill)}`;
    process.stderr.write(`\r${this.label} [${bar}] ${done}/${this.total} ${secs}s ${extra}\x1b[K`);
  }

  finish(): void {
    if (this.enabled) process.stderr.write('\n');
  }
}

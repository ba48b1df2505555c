// Runs one test suite as a child process, streams its output and extracts its counts.
import { spawn } from 'node:child_process';

const COUNT_LINE = /^\s*(\d+) passed, (\d+) failed\s*$/;

/** Last `N passed, N failed` line in a text, or null. */
export function parseCounts(text) {
  const lines = text.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = COUNT_LINE.exec(lines[i]);
    if (match) return { passed: Number(match[1]), failed: Number(match[2]) };
  }
  return null;
}

/** Spawns `command args`, tees stdout/stderr, resolves { code, output }. */
export function runCommand(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let output = '';
    const keep = (chunk, stream) => {
      const text = chunk.toString('utf8');
      output += text;
      if (output.length > 4_000_000) output = output.slice(-2_000_000);
      stream.write(text);
    };
    child.stdout.on('data', (c) => keep(c, process.stdout));
    child.stderr.on('data', (c) => keep(c, process.stderr));
    child.on('error', (err) => resolve({ code: 127, output: output + String(err) }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

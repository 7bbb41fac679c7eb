// A progress bar on standard error, drawn only when it is a terminal.
export function progressBar(
  label: string,
): ((done: number, total: number, what: string) => void) & { end(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  const draw = (done: number, total: number, what: string) => {
    if (!tty) return;
    const now = Date.now();
    if (done < total && now - last < 50) return;
    last = now;
    const width = 30;
    const filled = total ? Math.round((done / total) * width) : width;
    const cols = process.stderr.columns ?? 100;
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${what}`;
    process.stderr.write(`\r${line.slice(0, cols - 1).padEnd(cols - 1)}`);
  };
  return Object.assign(draw, {
    end() {
      if (tty) process.stderr.write(`\r${' '.repeat((process.stderr.columns ?? 100) - 1)}\r`);
    },
  });
}

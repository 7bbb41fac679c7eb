// Progress on standard error, drawn only when it is a terminal: a bar for
// work of known size, a status line for open-ended work (explore).

/** Terminal width; a terminal that reports no width (0 columns) gets a line of 80. */
function columns(): number {
  const c = process.stderr.columns;
  return c && c > 1 ? c : 80;
}

/** A line redrawn in place on standard error, at most every 50 ms unless forced. */
export function statusLine(): ((text: string, force?: boolean) => void) & { end(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let drawn = false;
  const draw = (text: string, force = false) => {
    if (!tty) return;
    const now = Date.now();
    if (!force && now - last < 50) return;
    last = now;
    drawn = true;
    const cols = columns();
    process.stderr.write(`\r${text.slice(0, cols - 1).padEnd(cols - 1)}`);
  };
  return Object.assign(draw, {
    end() {
      if (tty && drawn) process.stderr.write(`\r${' '.repeat(columns() - 1)}\r`);
    },
  });
}

export function progressBar(
  label: string,
): ((done: number, total: number, what: string) => void) & { end(): void } {
  const line = statusLine();
  const draw = (done: number, total: number, what: string) => {
    const width = 30;
    const filled = total ? Math.round((done / total) * width) : width;
    line(
      `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${what}`,
      done >= total,
    );
  };
  return Object.assign(draw, { end: () => line.end() });
}

// Progress on standard error, drawn only on a terminal that can take it: a
// bar for work of known size, a status line for open-ended work (explore).
// It must never cost the report: a terminal of any width (0 columns, i.e. a
// size never set, under `script -qec`), no terminal, TERM=dumb (no carriage
// returns or escapes there) and a failing write all end as a plain bar or no
// bar, never as an error.

/** Narrower than this, a bar says nothing useful: none is drawn. */
const MIN_COLUMNS = 20;

/** The terminal's width; a pty whose size was never set says 0, i.e. unknown: assume 80. */
function columns(): number {
  const c = process.stderr.columns;
  return typeof c === 'number' && Number.isInteger(c) && c > 0 ? c : 80;
}

/** Whether standard error can take a bar redrawn in place. */
function canDraw(): boolean {
  if (process.stderr.isTTY !== true) return false;
  if (process.env.TERM === 'dumb') return false;
  return columns() >= MIN_COLUMNS;
}

/** A line redrawn in place on standard error, at most every 50 ms unless forced. */
export function statusLine(): ((text: string, force?: boolean) => void) & { end(): void } {
  let last = 0;
  let drawn = 0;
  let broken = false;
  const write = (s: string) => {
    try {
      process.stderr.write(s);
    } catch {
      broken = true;
    }
  };
  const draw = (line: string, force = false) => {
    if (broken || !canDraw()) return;
    const now = Date.now();
    if (!force && now - last < 50) return;
    last = now;
    // Read each time: the terminal may be resized during the run.
    const cols = columns() - 1;
    const text = line.slice(0, cols);
    write(`\r${text.padEnd(Math.min(cols, Math.max(drawn, text.length)))}`);
    drawn = text.length;
  };
  return Object.assign(draw, {
    end() {
      if (broken || drawn === 0) return;
      write(`\r${' '.repeat(Math.max(0, Math.min(drawn, columns() - 1)))}\r`);
      drawn = 0;
    },
  });
}

export function progressBar(
  label: string,
): ((done: number, total: number, what: string) => void) & { end(): void } {
  const line = statusLine();
  const draw = (done: number, total: number, what: string) => {
    const width = 30;
    const filled =
      total > 0 ? Math.min(width, Math.max(0, Math.round((done / total) * width))) : width;
    line(
      `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${what}`,
      done >= total,
    );
  };
  return Object.assign(draw, { end: () => line.end() });
}

// A progress bar on standard error, drawn only on a terminal that can take it.
// It must never cost the report: a terminal of any width (0 columns under
// `script -qec`), no terminal, TERM=dumb (no carriage returns or escapes
// there) and a failing write all end as no bar, never as an error.

/** Narrower than this, a bar says nothing useful: none is drawn. */
const MIN_COLUMNS = 20;

function columns(): number {
  const c = process.stderr.columns;
  return typeof c === 'number' && Number.isInteger(c) ? c : 0;
}

/** Whether standard error can take a bar redrawn in place. */
function canDraw(): boolean {
  if (process.stderr.isTTY !== true) return false;
  const term = process.env.TERM;
  if (term === undefined || term === '' || term === 'dumb') return false;
  return columns() >= MIN_COLUMNS;
}

export function progressBar(
  label: string,
): ((done: number, total: number, what: string) => void) & { end(): void } {
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
  const draw = (done: number, total: number, what: string) => {
    if (broken || !canDraw()) return;
    const now = Date.now();
    if (done < total && now - last < 50) return;
    last = now;
    const width = 30;
    const filled =
      total > 0 ? Math.min(width, Math.max(0, Math.round((done / total) * width))) : width;
    // Read each time: the terminal may be resized during the run.
    const cols = columns() - 1;
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${what}`;
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

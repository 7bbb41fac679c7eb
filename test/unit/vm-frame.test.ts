// The guest's report comes back framed on the second serial port.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { unframe } from '../../lib/vm/qemu.js';

function frame(report: string, status = 0): string {
  const b = Buffer.from(report);
  const sum = createHash('sha256').update(b).digest('hex');
  const b64 = b.toString('base64').replace(/(.{76})/g, '$1\n');
  return `MREMAP-PROBE-REPORT-BEGIN status=${status} bytes=${b.length} sha256=${sum}\n${b64}\nMREMAP-PROBE-REPORT-END\n`;
}

describe('the report frame on the second serial port', () => {
  const report = JSON.stringify({
    schema: 'x',
    cases: Array.from({ length: 50 }, (_, i) => ({ id: `c${i}` })),
  });

  it('round-trips, through a terminal that turns \\n into \\r\\n', () => {
    const raw = frame(report, 1).replaceAll('\n', '\r\n');
    const got = unframe(`boot noise\r\n${raw}`);
    expect(got.status).toBe(1);
    expect(got.report.toString()).toBe(report);
  });

  it('refuses a report whose bytes changed', () => {
    const raw = frame(report);
    const i = raw.indexOf('\n') + 10;
    const bad = raw.slice(0, i) + (raw[i] === 'A' ? 'B' : 'A') + raw.slice(i + 1);
    expect(() => unframe(bad)).toThrow(/sha256|bytes/);
  });

  it('refuses a cut report, and no report', () => {
    expect(() => unframe(frame(report).split('MREMAP-PROBE-REPORT-END')[0]!)).toThrow(/end marker/);
    expect(() => unframe('[    1.2] Kernel panic - not syncing\n')).toThrow(/no report header/);
  });
});

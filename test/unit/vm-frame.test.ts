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

  it('leaves out whole lines that are not base64, as a kernel message on the console', () => {
    const lines = frame(report, 1).split('\n');
    lines.splice(3, 0, '[   12.345678] virtio_net virtio0: some message');
    const got = unframe(`boot noise\n${lines.join('\n')}`, 'the console');
    expect(got.report.toString()).toBe(report);
  });

  it('refuses a report a message broke into mid-line: its sha256 says so', () => {
    const lines = frame(report, 1).split('\n');
    lines[3] = `${lines[3]!.slice(0, 20)}[   12.3] x\n${lines[3]!.slice(20)}`;
    expect(() => unframe(lines.join('\n'))).toThrow(/sha256|bytes/);
  });

  it('names where it looked when there is no header', () => {
    expect(() => unframe('login: ', 'the console')).toThrow(/no report header on the console/);
  });

  it('refuses a cut report, and no report', () => {
    expect(() => unframe(frame(report).split('MREMAP-PROBE-REPORT-END')[0]!)).toThrow(/end marker/);
    expect(() => unframe('[    1.2] Kernel panic - not syncing\n')).toThrow(/no report header/);
  });
});

import { describe, expect, test } from 'vitest';
import { formatFleetHtml, formatFleetText } from '../../../src/fleet/render.js';
import { fleetStatus } from '../../../src/fleet/status.js';
import type { HostView } from '../../../src/verify/index.js';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const hostile: HostView = {
  lastNs: BigInt(NOW - 5000) * 1_000_000n,
  daemon: null,
  missing: 0,
  pauses: 0,
  announcedRoot: 'a'.repeat(64),
  rootMismatches: 0,
  // A label and a problem detail come from what hosts sent (signed, but a host can be compromised).
  label: '<script>alert(1)</script>\nATTENTION fake',
  deploy: 'd'.repeat(64),
  summary: null,
  openFindings: null,
  openBySeverity: null,
  problemCounts: { 'bad-signature': 1 },
  recent: [{ kind: 'bad-signature', atMs: NOW - 1000, detail: '</td><img src=x>' }],
};

describe('fleet status rendering of hostile text', () => {
  const s = fleetStatus(new Map([['w"1<', hostile]]), NOW, 300_000);

  test('the page escapes every host-supplied text and loads nothing', () => {
    const html = formatFleetHtml(s);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain('&#60;script&#62;');
    expect(html).toContain('data-host="w&#34;1&#60;"');
    expect(html).toContain("default-src 'none'");
  });

  test('the text keeps one line per host, whatever a label holds', () => {
    const text = formatFleetText(s);
    expect(text).not.toMatch(/^ATTENTION fake/m);
    expect(text).toContain('\\nATTENTION fake');
  });
});

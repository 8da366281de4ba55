// The page's policy as text, and the one value from outside it holds: the mirror's origin, which must never carry
// policy syntax of its own.
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, mirrorOrigin, policyScript } from '../../src/ui/content_security_policy.ts';

describe('the Content-Security-Policy', () => {
  it('takes a mirror only as a plain http or https origin', () => {
    expect(mirrorOrigin('https://hf-mirror.com/')).toBe('https://hf-mirror.com');
    expect(mirrorOrigin('http://127.0.0.1:8080/hub/')).toBe('http://127.0.0.1:8080');
    for (const hostile of [
      'https://a;script-src *',
      "https://a.com 'unsafe-eval'",
      'javascript:alert(1)',
      'data:text/html,x',
      'ftp://mirror.example',
      'not a url',
      '',
    ])
      expect(mirrorOrigin(hostile), hostile).toBeNull();
  });

  it('allows inline styles only to the dev server, and never inline or evaluated scripts', () => {
    expect(contentSecurityPolicy()).toContain("style-src 'self';");
    expect(contentSecurityPolicy({ dev: true })).toContain("style-src 'self' 'unsafe-inline';");
    for (const policy of [contentSecurityPolicy(), contentSecurityPolicy({ dev: true })]) {
      expect(policy).toMatch(/script-src 'self';/);
      expect(policy).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
    }
    expect(policyScript()).toContain(JSON.stringify(contentSecurityPolicy()));
  });
});

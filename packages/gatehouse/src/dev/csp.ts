/**
 * The Content-Security-Policy of pages that come from a dev server (`spa.upstream`, development
 * only). A dev server needs three things a built SPA does not:
 *
 * - inline `<style>` elements: Vite serves every imported stylesheet as a module that inserts a
 *   `<style>` element, and its error overlay styles itself inline;
 * - inline `<script>`: framework plugins inject a preamble (`@vitejs/plugin-react` puts the
 *   React Refresh set-up in an inline module script);
 * - a WebSocket to the same origin (HMR). CSP Level 3 §6.7.2.8 lets `'self'` match `wss:` on the
 *   same host and port, but some older browsers do not, so the `wss:` form of the public origin is
 *   listed explicitly.
 *
 * Only these are relaxed, and only on the dev server's responses; `eval` stays refused (Vite's dev
 * client does not use it), and every other directive, and every other response, keeps the
 * configured policy. Nonces would be narrower, but need the HTML rewritten per response and the
 * dev server configured for them: not worth it on a developer's own machine.
 * @see https://www.w3.org/TR/CSP3/#match-url-to-source-expression
 * @see https://vite.dev/guide/features#content-security-policy-csp
 */
export function devServerCsp(policy: string, publicOrigin: string): string {
  const directives = policy
    .split(';')
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .map((d) => {
      const [name = '', ...sources] = d.split(/\s+/);
      return { name: name.toLowerCase(), sources };
    });
  const find = (name: string) => directives.find((d) => d.name === name);
  // A missing directive falls back to default-src (CSP3 §6.8.3); relaxing it means writing it
  // out with the default's sources first, so nothing else the default allows is lost or added.
  const fallback = find('default-src')?.sources ?? [];
  const allow = (name: string, source: string) => {
    let directive = find(name);
    if (!directive) {
      if (!find('default-src')) return; // no default-src: the directive is already unrestricted
      directive = { name, sources: [...fallback] };
      directives.push(directive);
    }
    // 'none' cannot be combined with other sources: it is replaced.
    directive.sources = directive.sources.filter((s) => s.toLowerCase() !== "'none'");
    if (!directive.sources.includes(source)) directive.sources.push(source);
  };
  allow('script-src', "'unsafe-inline'");
  allow('style-src', "'unsafe-inline'");
  // The -elem variants, when a policy sets them, override script-src / style-src for elements.
  if (find('script-src-elem')) allow('script-src-elem', "'unsafe-inline'");
  if (find('style-src-elem')) allow('style-src-elem', "'unsafe-inline'");
  allow('connect-src', publicOrigin.replace(/^http/, 'ws'));
  return directives.map((d) => [d.name, ...d.sources].join(' ')).join('; ');
}

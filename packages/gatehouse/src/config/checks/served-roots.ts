import { realpathSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import type { ConfigProblem } from '../../errors.js';

/**
 * After paths are resolved: a protected folder must not also be reachable through another
 * mount or the SPA root (a folder inside another served folder is served twice, once without
 * the session or role check). Symbolic links are followed where the folders exist.
 */
export function checkServedRoots(config: {
  spa?: { root?: string | undefined } | undefined;
  static: readonly { path: string; root: string; protected: boolean }[];
}): ConfigProblem[] {
  const real = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return path;
    }
  };
  const within = (child: string, parent: string) => {
    const rel = relative(parent, child);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  const served = [
    ...(config.spa?.root !== undefined ? [{ key: 'spa.root', path: '/', root: real(config.spa.root) }] : []),
    ...config.static.map((m, i) => ({ key: `static[${i}].root`, path: m.path, root: real(m.root) })),
  ];
  const problems: ConfigProblem[] = [];
  config.static.forEach((mount, i) => {
    if (!mount.protected) return;
    const own = real(mount.root);
    for (const other of served) {
      if (other.key === `static[${i}].root` || !within(own, other.root)) continue;
      const message = `"${mount.root}" is inside ${other.key} ("${other.root}"), which serves it again under "${other.path}" without this mount's session check. Move the protected folder out of ${other.key}.`;
      problems.push({ key: `static[${i}].root`, message });
    }
  });
  return problems;
}

// The layers of packages/gatehouse/src, lowest first (docs/architecture.md). A module may import
// only from its own folder or from a lower layer; folders that share a layer never import each
// other. With the module-level cycle rule this keeps the graph acyclic between files and folders.
const LAYERS = [
  ['errors.ts', 'clock.ts', 'util'],
  ['config', 'tls'],
  ['http', 'keys'],
  ['cookies'],
  ['csrf'],
  ['session'],
  ['backends'],
  ['tokens', 'metrics'],
  ['local'],
  ['auth', 'oidc', 'proxy', 'static', 'demo', 'testing'],
  ['dev'],
  ['compose', 'types.ts'],
  ['server.ts'],
  ['start.ts'],
  ['index.ts'],
  ['cli'],
];

const pattern = (names) => `^src/(${names.map((n) => n.replace('.', '\\.')).join('|')})(/|$)`;

const layerRules = LAYERS.flatMap((layer, level) => {
  const higher = LAYERS.slice(level + 1).flat();
  const rules = [];
  if (higher.length > 0) {
    rules.push({
      name: `layer-${level}-imports-up`,
      comment: `${layer.join(', ')} may not import from a higher layer (${higher.join(', ')})`,
      severity: 'error',
      from: { path: pattern(layer) },
      to: { path: pattern(higher) },
    });
  }
  for (const name of layer) {
    const siblings = layer.filter((other) => other !== name);
    if (siblings.length === 0) continue;
    rules.push({
      name: `layer-${level}-sibling-${name}`,
      comment: `${name} may not import its sibling${siblings.length > 1 ? 's' : ''} in the same layer (${siblings.join(', ')})`,
      severity: 'error',
      from: { path: pattern([name]) },
      to: { path: pattern(siblings) },
    });
  }
  return rules;
});

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'no import cycle between files', severity: 'error', from: {}, to: { circular: true } },
    ...layerRules,
    {
      name: 'unlayered',
      comment: 'every file of src/ belongs to a layer: add a new folder to LAYERS (docs/architecture.md)',
      severity: 'error',
      from: { path: '^src/', pathNot: pattern(LAYERS.flat()) },
      to: {},
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

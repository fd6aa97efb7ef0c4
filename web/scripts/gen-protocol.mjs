// Generates src/state/protocol.gen.ts from the protocol's JSON Schema, the one
// description of the wire shapes (src/parley/protocol/schema/protocol.json).
//   node scripts/gen-protocol.mjs          write the file   (npm run gen:protocol)
//   node scripts/gen-protocol.mjs --check  fail if it is stale (part of npm run lint)
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFromFile } from 'json-schema-to-typescript';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const schema = resolve(web, '../src/parley/protocol/schema/protocol.json');
const out = resolve(web, 'src/state/protocol.gen.ts');
const source = relative(resolve(web, '..'), schema);

const generated = await compileFromFile(schema, {
  bannerComment: `// Generated from ${source} by \`npm run gen:protocol\`. Do not edit by hand.`,
  unreachableDefinitions: true,
  unknownAny: true,
  style: { singleQuote: true, printWidth: 110 },
});

if (process.argv.includes('--check')) {
  const current = await readFile(out, 'utf8').catch(() => '');
  if (current !== generated) {
    console.error(`${relative(web, out)} is stale: run \`npm run gen:protocol\` and commit it.`);
    process.exit(1);
  }
} else {
  await writeFile(out, generated);
}

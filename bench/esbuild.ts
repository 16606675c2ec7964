/**
 * Bundle one Lambda entry exactly as MillwrightFunction does (BUNDLE in lib/constructs/), for the
 * benches. Reads `alias`, `format` and `banner` only when the tree has them, so the benches also
 * run on older trees (which deployed ESM with a `require` banner).
 */
import { build, type Metafile } from 'esbuild';
import { BUNDLE } from '../lib/constructs/millwright-function.ts';
import { PROJECT_ROOT } from '../lib/entries.ts';

const settings = BUNDLE as typeof BUNDLE & {
  alias?: Record<string, string>;
  format?: 'cjs' | 'esm';
  banner?: string;
};
export const bundleAlias = settings.alias;
export const bundleFormat = settings.format ?? 'esm';
/**
 * The bundle's file name. `.cjs` rather than Lambda's `index.js`: the benches write inside this
 * project, whose package.json says `"type": "module"`, and a `.js` there would load as ESM.
 */
export const BUNDLE_FILE = bundleFormat === 'cjs' ? 'index.cjs' : 'index.mjs';

/** A `node -e` statement that loads `file` as Lambda does (`require` for CommonJS, `import()` for ESM). */
export const loadStatement = (file: string): string =>
  file.endsWith('.mjs') ? `await import(${JSON.stringify(file)})` : `require(${JSON.stringify(file)})`;

export async function bundleEntry(entryPath: string, outfile: string): Promise<Metafile> {
  const result = await build({
    entryPoints: [entryPath],
    outfile,
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    format: bundleFormat,
    target: BUNDLE.target,
    // MILLWRIGHT_BENCH_NOMINIFY=1: readable bundles, for profiling (names in CPU profiles).
    minify: process.env.MILLWRIGHT_BENCH_NOMINIFY !== '1',
    sourcemap: 'external',
    sourcesContent: false,
    external: [...BUNDLE.external],
    ...(bundleAlias ? { alias: bundleAlias } : {}),
    mainFields: [...BUNDLE.mainFields],
    ...(settings.banner ? { banner: { js: settings.banner } } : {}),
    metafile: true,
    logLevel: 'silent',
  });
  // A warning here is one the stack's bundling would only print, e.g. `import.meta` made empty by
  // the CommonJS output: fail the bench and test/infra/bundle.test.ts instead.
  if (result.warnings.length > 0) {
    const texts = result.warnings.map((w) => `${w.location?.file ?? entryPath}: ${w.text}`);
    throw new Error(`esbuild warned while bundling ${entryPath}:\n${texts.join('\n')}`);
  }
  return result.metafile;
}

/**
 * Bundle one Lambda entry exactly as MillwrightFunction does (BUNDLE in lib/constructs/), for the
 * benches. Reads `alias` only when the tree has it, so the benches also run on older trees.
 */
import { build, type Metafile } from 'esbuild';
import { BUNDLE } from '../lib/constructs/millwright-function.ts';
import { PROJECT_ROOT } from '../lib/entries.ts';

export const bundleAlias = (BUNDLE as { alias?: Record<string, string> }).alias;

export async function bundleEntry(entryPath: string, outfile: string): Promise<Metafile> {
  const result = await build({
    entryPoints: [entryPath],
    outfile,
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLE.target,
    // MILLWRIGHT_BENCH_NOMINIFY=1: readable bundles, for profiling (names in CPU profiles).
    minify: process.env.MILLWRIGHT_BENCH_NOMINIFY !== '1',
    sourcemap: 'external',
    sourcesContent: false,
    external: [...BUNDLE.external],
    ...(bundleAlias ? { alias: bundleAlias } : {}),
    mainFields: [...BUNDLE.mainFields],
    banner: { js: BUNDLE.banner },
    metafile: true,
    logLevel: 'silent',
  });
  return result.metafile;
}

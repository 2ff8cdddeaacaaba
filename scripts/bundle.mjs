// Bundles the `tsmig` command into one ES module (dist/tsmig.mjs) so it starts fast: loading
// chevrotain's hundreds of small modules one by one costs more than preprocessing a whole corpus.
import { build } from "esbuild";

await build({
  entryPoints: ["mig/cli/main.ts"],
  outfile: "dist/tsmig.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // Only the emit paths use these; they are imported lazily and stay out of the bundle.
  external: ["ts-morph", "prettier", "prettier/*", "playwright-core"],
  // commander is CommonJS: give the bundle a real `require` for its Node built-ins.
  banner: {
    js: 'import { createRequire as __tsmigCreateRequire } from "node:module"; const require = __tsmigCreateRequire(import.meta.url);',
  },
  logLevel: "warning",
});

#!/usr/bin/env node
// tsmig: the MIG compiler's command. It runs the one-file bundle `npm run build` makes
// (dist/tsmig.mjs), which starts several times faster than the unbundled modules.
import { main } from "../dist/tsmig.mjs";

process.exitCode = await main(process.argv.slice(2));

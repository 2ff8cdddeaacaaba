#!/usr/bin/env node
// tsmig: the MIG compiler's command (built code lives in dist/; `npm run build` makes it).
import { main } from "../dist/mig/cli/main.js";

process.exitCode = await main(process.argv.slice(2));

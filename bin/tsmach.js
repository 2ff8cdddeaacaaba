#!/usr/bin/env node
// tsmach: boots the system and looks inside it (built code lives in dist/).
import { main } from "../dist/src/boot/cli.js";

process.exitCode = await main(process.argv.slice(2));

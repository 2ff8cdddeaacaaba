// The MIG parser's public face: preprocessed tokens in, a DefsFile AST and E01xx diagnostics out.
// See parser.ts for the driver, grammar.ts for the chevrotain grammar, tokens.ts for keywords.
export { parseTokens, type ParseOptions } from "./parser.js";
export { keywordOf, integerValue, STATEMENT_KEYWORDS } from "./tokens.js";

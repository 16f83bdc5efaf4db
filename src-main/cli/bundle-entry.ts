import { main } from './main';

/**
 * Entry of the built CLI (`npm run build:cli` → out/cli/mailvault.mjs, one ES module with the
 * engine bundled and node_modules left as imports). Starting it skips tsx compiling ~200
 * TypeScript files on every run, the bulk of a short command's time; bin/mailvault runs it
 * when it is newer than every source file.
 */
main(process.argv.slice(2)).then((code) => process.exit(code));

// Copies the repo's proto/siorelay/v1/*.proto into this package, which loads
// them at run time. `node scripts/sync-proto.js --check` exits 1 when the
// copy is stale instead of writing it (the tests run the same check).

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(here, "..", "..", "..", "proto", "siorelay", "v1");
const dst = path.join(here, "..", "proto", "siorelay", "v1");
const check = process.argv.includes("--check");

let stale = false;
for (const name of fs.readdirSync(src).filter((n) => n.endsWith(".proto")).sort()) {
  const want = fs.readFileSync(path.join(src, name));
  const dstFile = path.join(dst, name);
  const have = fs.existsSync(dstFile) ? fs.readFileSync(dstFile) : null;
  if (have && want.equals(have)) continue;
  stale = true;
  if (check) console.error(`clients/node/proto/siorelay/v1/${name} is stale: run npm run sync-proto`);
  else {
    fs.mkdirSync(dst, { recursive: true });
    fs.writeFileSync(dstFile, want);
    console.log(`wrote proto/siorelay/v1/${name}`);
  }
}
process.exit(check && stale ? 1 : 0);

// The reference JavaScript Automerge, driven by tests/interop/test_interop_js.py.
// Usage: node oracle.mjs COMMAND ACTOR_HEX < saved-document-bytes; prints one JSON object.
//   edit      load the document, set a field (ImmutableString) and add a tag, as ACTOR
//   text      like edit, but set the field as a plain JS string (a Text object in Automerge 3)
//   counter   like edit, but also create and increment a counter
//   conflicts every key's conflicting values, as Automerge itself sees them
import * as Automerge from "@automerge/automerge";
import { readFileSync } from "node:fs";

const [command, actor] = process.argv.slice(2);
const saved = readFileSync(0);
const doc = Automerge.load(new Uint8Array(saved), { actor });
const agent = "agent:" + "d4".repeat(32);
const hex = (bytes) => Buffer.from(bytes).toString("hex");

function edited(change) {
  const next = Automerge.change(doc, change);
  return { change: hex(Automerge.getLastLocalChange(next)), heads: Automerge.getHeads(next) };
}

const commands = {
  edit: () =>
    edited((d) => {
      d[`${agent}/name`] = new Automerge.ImmutableString("made in js");
      d[`${agent}/tags/js`] = true;
    }),
  text: () =>
    edited((d) => {
      d[`${agent}/name`] = "a text object";
    }),
  counter: () =>
    edited((d) => {
      d[`${agent}/name`] = new Automerge.ImmutableString("with a counter");
      d["visits"] = new Automerge.Counter(1);
      d["visits"].increment(2);
    }),
  conflicts: () => {
    const found = {};
    for (const key of Object.keys(doc)) {
      const conflicts = Automerge.getConflicts(doc, key);
      if (conflicts && Object.keys(conflicts).length > 1) {
        found[key] = Object.values(conflicts).map(String).sort();
      }
    }
    return { conflicts: found, heads: Automerge.getHeads(doc) };
  },
};

if (!(command in commands)) {
  console.error(`unknown command ${command}`);
  process.exit(2);
}
console.log(JSON.stringify(commands[command]()));

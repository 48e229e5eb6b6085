// Prints the resource types of every template in a cloud assembly directory (nested
// stage assemblies included) with their counts, one `Type count` line each, sorted, then
// `total N`. Used by bench/run to check that cairn and aws-cdk-lib wrote the same resources.
//
//   node bench/count-resources.js DIR
'use strict';

const fs = require('fs');
const path = require('path');

function templates(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      out.push(...templates(p));
    } else if (entry.name.endsWith('.template.json')) {
      out.push(p);
    }
  }
  return out;
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node count-resources.js DIR');
  process.exit(2);
}
const counts = new Map();
let total = 0;
for (const file of templates(dir)) {
  const template = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const resource of Object.values(template.Resources ?? {})) {
    counts.set(resource.Type, (counts.get(resource.Type) ?? 0) + 1);
    total++;
  }
}
for (const type of [...counts.keys()].sort()) {
  console.log(`${type} ${counts.get(type)}`);
}
console.log(`total ${total}`);

#!/usr/bin/env bash
# Regenerates USDT.abi.json and USDT.bin from USDT.sol with solc-js and OpenZeppelin from the
# npm registry (no native solc needed). Versions are pinned so the bytecode is reproducible.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund solc@0.8.37 @openzeppelin/contracts@5.7.0 >/dev/null
cp "$here/USDT.sol" .
cat > compile.js <<'JS'
const solc = require('solc');
const fs = require('fs');
const path = require('path');
const input = {
  language: 'Solidity',
  sources: { 'USDT.sol': { content: fs.readFileSync('USDT.sol', 'utf8') } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'paris',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
function findImports(p) {
  try { return { contents: fs.readFileSync(path.join('node_modules', p), 'utf8') }; }
  catch (e) { return { error: 'not found: ' + p }; }
}
const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (out.errors || []).filter(e => e.severity === 'error');
if (errors.length) { console.error(errors.map(e => e.formattedMessage).join('\n')); process.exit(1); }
const c = out.contracts['USDT.sol']['DevUSDT'];
fs.writeFileSync(process.argv[2] + '/USDT.abi.json', JSON.stringify(c.abi, null, 1) + '\n');
fs.writeFileSync(process.argv[2] + '/USDT.bin', c.evm.bytecode.object + '\n');
JS
node compile.js "$here"
echo "wrote $here/USDT.abi.json and $here/USDT.bin"

#!/usr/bin/env node
// A native-solc look-alike in front of solc-js, because no native solc can be downloaded here.
// It speaks the three dialects our callers use (../shared/TOOLCHAIN.md):
//   --version                                     (py-solc-x / ape-solidity)
//   --standard-json [--base-path D] [--include-path D]... [--allow-paths a,b]   (ape, forge)
//   --combined-json abi,ast,bin,... [remap=target]... file.sol...               (slither)
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const VERSION_BANNER =
  'solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n';

function parseArgs(argv) {
  const opts = { basePath: null, includePaths: [], allowPaths: [], remappings: [], files: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => argv[++i];
    if (arg === '--version') opts.version = true;
    else if (arg === '--standard-json') opts.standardJson = true;
    else if (arg === '--combined-json') opts.combined = next().split(',');
    else if (arg === '--base-path') opts.basePath = next();
    else if (arg === '--include-path') opts.includePaths.push(next());
    else if (arg === '--allow-paths') opts.allowPaths.push(...next().split(','));
    else if (arg === '--optimize') opts.optimize = true;
    else if (arg === '--optimize-runs') opts.optimizeRuns = Number(next());
    else if (arg === '--evm-version') opts.evmVersion = next();
    else if (arg === '--via-ir') opts.viaIR = true;
    else if (arg === '--no-color' || arg === '--pretty-json') continue;
    else if (arg.startsWith('--')) continue; // flags we do not need to honour for output
    else if (arg.includes('=') && !fs.existsSync(arg)) opts.remappings.push(arg);
    else opts.files.push(arg);
  }
  return opts;
}

// solc-js cannot touch the filesystem itself: resolve imports the way native solc would,
// against the base path, include paths, allowed paths and the working directory.
function makeImportCallback(opts) {
  const roots = [opts.basePath, ...opts.includePaths, ...opts.allowPaths, process.cwd()]
    .filter(Boolean)
    .map((p) => path.resolve(p));
  return function findImport(importPath) {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((root) => path.join(root, importPath));
    for (const candidate of candidates) {
      try {
        return { contents: fs.readFileSync(candidate, 'utf8') };
      } catch (_) {
        // try the next root
      }
    }
    return { error: 'File not found: ' + importPath };
  };
}

function readStdin() {
  return fs.readFileSync(0, 'utf8');
}

function compileStandardJson(opts) {
  const output = solc.compile(readStdin(), { import: makeImportCallback(opts) });
  process.stdout.write(output);
  return 0; // native solc exits 0 even when the JSON lists errors
}

// crytic-compile wants the legacy combined JSON: rebuild it from a standard-json run.
function compileCombined(opts) {
  const sources = {};
  for (const file of opts.files) {
    sources[file] = { content: fs.readFileSync(file, 'utf8') };
  }
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      remappings: opts.remappings,
      optimizer: { enabled: !!opts.optimize, runs: opts.optimizeRuns || 200 },
      viaIR: !!opts.viaIR,
      outputSelection: {
        '*': {
          '*': ['abi', 'evm.bytecode', 'evm.deployedBytecode', 'evm.methodIdentifiers',
            'userdoc', 'devdoc'],
          '': ['ast'],
        },
      },
    },
  };
  if (opts.evmVersion) input.settings.evmVersion = opts.evmVersion;
  const output = JSON.parse(
    solc.compile(JSON.stringify(input), { import: makeImportCallback(opts) }));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const e of output.errors || []) process.stderr.write((e.formattedMessage || e.message) + '\n');
  if (errors.length) return 1;

  const combined = { contracts: {}, sources: {}, sourceList: [], version: solc.version() };
  const sourceNames = Object.keys(output.sources || {}).sort(
    (a, b) => output.sources[a].id - output.sources[b].id);
  for (const name of sourceNames) {
    combined.sourceList.push(name);
    combined.sources[name] = { AST: output.sources[name].ast };
  }
  for (const [file, contracts] of Object.entries(output.contracts || {})) {
    for (const [name, c] of Object.entries(contracts)) {
      combined.contracts[file + ':' + name] = {
        abi: c.abi,
        bin: c.evm.bytecode.object,
        'bin-runtime': c.evm.deployedBytecode.object,
        srcmap: c.evm.bytecode.sourceMap,
        'srcmap-runtime': c.evm.deployedBytecode.sourceMap,
        hashes: c.evm.methodIdentifiers,
        userdoc: c.userdoc,
        devdoc: c.devdoc,
      };
    }
  }
  process.stdout.write(JSON.stringify(combined));
  return 0;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    process.stdout.write(VERSION_BANNER);
    return 0;
  }
  if (opts.standardJson) return compileStandardJson(opts);
  if (opts.combined) return compileCombined(opts);
  process.stderr.write('solc shim: expected --version, --standard-json or --combined-json\n');
  return 2;
}

process.exitCode = main();

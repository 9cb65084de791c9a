# The despacito binary, built offline in the Nix sandbox:
#  - npmDeps, a fixed-output derivation, is `deno install --frozen` of the
#    server's deno.json/deno.lock (test-only packages live in deno.test.*),
#    i.e. node_modules including esbuild for the UI bundle. Deno's own
#    bookkeeping files, which differ between Deno releases, are removed, so
#    the hash depends on deno.lock and Deno's node_modules layout only.
#    tests/nix_package_test.ts recomputes both hashes below (Debian's
#    `nix hash path`) and fails when they are stale.
#  - the build copies it to node_modules and runs `deno task compile`
#    (src/build/compile.ts: UI bundle with esbuild from node_modules, then
#    deno compile from a staging copy that holds only the server's
#    packages) with nixpkgs' denort as DENORT_BIN. Nothing is downloaded;
#    tests/nix_package_test.ts runs the same steps without a network.
# The permission flags baked into the binary grant the NixOS paths; the
# module overrides `flakeDir` only when the flake dir leaves /var/lib/despacito.
{ lib
, stdenvNoCC
, deno
, denort ? null
, version
, commit ? "unknown"
, flakeDir ? "/var/lib/despacito/flake"
}:
let
  fs = lib.fileset;
  files = lib.importJSON ./program-files.json;
  under = p: ../. + "/${p}";
  tests = fs.unions (map (d: fs.fileFilter (f: lib.hasSuffix "_test.ts" f.name) (under d)) [ "src" "ui/src" ]);
  src = fs.toSource {
    root = ../.;
    fileset = fs.difference (fs.unions (map under files.program)) tests;
  };
  depsSrc = fs.toSource { root = ../.; fileset = fs.unions (map under files.npmDeps); };

  # One per system: esbuild's native package differs (@esbuild/linux-x64, -arm64).
  npmDepsHashes = {
    x86_64-linux = "sha256-dKd4FWeOsDrL7IOzSZnsyUmWiyN/sxKDchRV1Mdcj0M=";
    aarch64-linux = "sha256-pSLMmpgLTQfBjV1GcaBxZsT5sfQH1ngOAU8x0Gd3NZ4=";
  };
  system = stdenvNoCC.hostPlatform.system;

  denortBin = if denort != null then lib.getExe' denort "denort" else lib.getExe' deno "denort";

  npmDeps = stdenvNoCC.mkDerivation {
    pname = "despacito-npm-deps";
    inherit version;
    src = depsSrc;
    nativeBuildInputs = [ deno ];
    dontConfigure = true;
    dontFixup = true;
    buildPhase = ''
      runHook preBuild
      export HOME=$TMPDIR DENO_DIR=$TMPDIR/deno-dir DENO_NO_UPDATE_CHECK=1
      deno install --frozen
      rm -f node_modules/.deno/.setup-cache.bin node_modules/.deno/.deno.lock node_modules/.deno/.deno.lock.poll
      runHook postBuild
    '';
    installPhase = ''
      runHook preInstall
      cp -a node_modules $out
      runHook postInstall
    '';
    outputHashMode = "recursive";
    outputHashAlgo = "sha256";
    outputHash = npmDepsHashes.${system} or (throw "despacito: no npm dependency hash for ${system}");
  };
in
stdenvNoCC.mkDerivation {
  pname = "despacito";
  inherit version src;
  nativeBuildInputs = [ deno ];
  dontConfigure = true;
  # deno compile appends the program to the runtime; strip or patchelf would cut it off.
  dontStrip = true;
  dontPatchELF = true;

  buildPhase = ''
    runHook preBuild
    export HOME=$TMPDIR DENO_DIR=$TMPDIR/deno-dir DENO_NO_UPDATE_CHECK=1
    cp -a ${npmDeps} node_modules
    chmod -R u+w node_modules
    export DENORT_BIN=${denortBin}
    export DESPACITO_BUILD_COMMIT=${commit}
    export DESPACITO_FLAKE_DIR=${flakeDir}
    deno task compile --output despacito
    runHook postBuild
  '';

  installPhase = ''
    runHook preInstall
    install -Dm755 despacito $out/bin/despacito
    runHook postInstall
  '';

  doInstallCheck = true;
  installCheckPhase = ''
    $out/bin/despacito version | grep -F "${version} (commit ${commit})"
  '';

  passthru = { inherit npmDeps; };

  meta = {
    description = "Continuous delivery for NixOS fleets: Forgejo -> flake.lock -> colmena apply";
    mainProgram = "despacito";
    platforms = lib.attrNames npmDepsHashes;
  };
}

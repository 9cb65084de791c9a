# The despacito binary: `deno task compile` (src/build/compile.ts) inside the
# Nix sandbox, with nixpkgs' denort as DENORT_BIN (the sandbox cannot
# download one) and the npm dependencies from a fixed-output derivation.
# The permission flags baked into the binary grant the paths given here;
# the NixOS module overrides them when its options move a directory.
{ lib
, stdenv
, deno
, denort ? null
, git
, src
, version
, commit ? "unknown"
, npmDepsHash
, dataDir ? "/var/lib/despacito"
, flakeDir ? "/var/lib/despacito/flake"
, socketPath ? "/run/despacito/http.sock"
, colmenaBin ? "colmena"
}:
let
  denortBin = if denort != null then "${denort}/bin/denort" else "${deno}/bin/denort";

  # npm packages as pinned by deno.lock, fetched once with network access.
  npmDeps = stdenv.mkDerivation {
    pname = "despacito-npm-deps";
    inherit version src;
    nativeBuildInputs = [ deno ];
    dontConfigure = true;
    dontFixup = true;
    buildPhase = ''
      export HOME=$TMPDIR DENO_DIR=$TMPDIR/deno-dir
      deno install --frozen
    '';
    installPhase = ''
      mkdir -p $out
      cp -R node_modules $out/node_modules
    '';
    outputHashMode = "recursive";
    outputHashAlgo = "sha256";
    outputHash = npmDepsHash;
  };
in
stdenv.mkDerivation {
  pname = "despacito";
  inherit version src;
  nativeBuildInputs = [ deno git ];
  # deno compile appends the program to the runtime; strip would cut it off.
  dontStrip = true;
  dontPatchELF = true;

  buildPhase = ''
    runHook preBuild
    export HOME=$TMPDIR DENO_DIR=$TMPDIR/deno-dir
    cp -R ${npmDeps}/node_modules node_modules
    chmod -R u+w node_modules
    # The UI bundle is embedded when the UI area's build task exists.
    if grep -q '"build:ui"' deno.json; then deno task build:ui; fi
    export DENORT_BIN=${denortBin}
    export DESPACITO_BUILD_COMMIT=${commit}
    export DESPACITO_DATA_DIR=${dataDir}
    export DESPACITO_FLAKE_DIR=${flakeDir}
    export DESPACITO_LISTEN_SOCKET=${socketPath}
    export DESPACITO_COLMENA_BIN=${colmenaBin}
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

  meta = {
    description = "Continuous delivery for NixOS fleets: Forgejo -> flake.lock -> colmena apply";
    mainProgram = "despacito";
    platforms = lib.platforms.linux;
  };
}

# Stand-ins for the nixpkgs packages nix/module.nix refers to: derivation-
# shaped attribute sets (types.package accepts them, lib.getExe reads
# meta.mainProgram). `despacito` is overridable like callPackage's result,
# and its name records the override so a test sees when a host rebuilds it.
{ lib }:
let
  drv = name: {
    type = "derivation";
    inherit name;
    pname = name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
    meta.mainProgram = name;
  };
in
{
  despacito = lib.makeOverridable
    (args: drv "despacito" // lib.optionalAttrs (args ? flakeDir) {
      outPath = "/nix/store/00000000000000000000000000000000-despacito-flakedir${lib.replaceStrings [ "/" ] [ "-" ] args.flakeDir}";
      meta.mainProgram = "despacito";
    })
    { };
  colmena = drv "colmena";
  git = drv "git";
  nix = drv "nix";
  openssh = drv "openssh";
  procps = drv "procps";
  coreutils = drv "coreutils";
  util-linux = drv "util-linux";
  caddy = drv "caddy";
  writeShellScriptBin = name: text: drv name // { inherit text; };
}

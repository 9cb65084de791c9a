# Evaluates nix/module.nix with the real nixpkgs lib (`libPath`) next to the
# option declarations of nixos_options.nix and one host configuration given
# as JSON; returns what the tests assert on. Failed assertions are reported
# as NixOS would report them (their messages), not thrown.
{ libPath, configJson }:
let
  lib = import libPath;
  pkgs = import ./pkgs_stub.nix { inherit lib; };
  eval = lib.evalModules {
    modules = [
      { _module.args.pkgs = pkgs; }
      ./nixos_options.nix
      ../../nix/module.nix
      (builtins.fromJSON configJson)
    ];
  };
  c = eval.config;
  failed = map (a: a.message) (lib.filter (a: !a.assertion) c.assertions);
in
{
  inherit failed;
  service = c.systemd.services.despacito or null;
  caddyService = c.systemd.services.caddy or null;
  tmpfiles = c.systemd.tmpfiles.settings;
  users = lib.mapAttrs (_: u: { inherit (u) isSystemUser isNormalUser group extraGroups home; }) c.users.users;
  groups = lib.attrNames c.users.groups;
  postgresql = { inherit (c.services.postgresql) enable ensureDatabases ensureUsers; };
  systemPackages = map (p: p.name) c.environment.systemPackages;
  cli = map (p: p.text or "") c.environment.systemPackages;
  doc = toString c.meta.doc;
}

# The NixOS options nix/module.nix touches, declared the way nixpkgs declares
# them (nixos/modules/config/users-groups.nix, system/boot/systemd.nix and
# systemd/tmpfiles.nix, services/web-servers/caddy, services/databases/postgresql,
# misc/assertions.nix, misc/meta.nix), trimmed to the attributes the module
# and its tests use. Submodules reject unknown attributes, so a misspelt
# option fails here as it would on NixOS; the users.users assertions are the
# ones that caught a half-defined `caddy` user (issue 13, item 1).
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;

  # nixos/lib/systemd-lib.nix: unitOption (lists concatenate, scalars must agree).
  unitOption = lib.mkOptionType {
    name = "systemd option";
    merge = loc: defs:
      let defs' = lib.filterOverrides defs;
      in
      if lib.any (def: lib.isList def.value) defs'
      then lib.concatMap (def: lib.toList def.value) defs'
      else lib.mergeEqualOption loc defs';
  };

  serviceOptions = { name, ... }: {
    options = {
      description = mkOption { type = types.str; default = ""; };
      wantedBy = mkOption { type = types.listOf types.str; default = [ ]; };
      wants = mkOption { type = types.listOf types.str; default = [ ]; };
      after = mkOption { type = types.listOf types.str; default = [ ]; };
      before = mkOption { type = types.listOf types.str; default = [ ]; };
      requires = mkOption { type = types.listOf types.str; default = [ ]; };
      bindsTo = mkOption { type = types.listOf types.str; default = [ ]; };
      path = mkOption { type = types.listOf (types.oneOf [ types.package types.str ]); default = [ ]; };
      environment = mkOption {
        type = with types; attrsOf (nullOr (oneOf [ str path package ]));
        default = { };
      };
      serviceConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
      unitConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
      restartIfChanged = mkOption { type = types.bool; default = true; };
      restartTriggers = mkOption { type = types.listOf types.unspecified; default = [ ]; };
      script = mkOption { type = types.lines; default = ""; };
      preStart = mkOption { type = types.lines; default = ""; };
    };
  };

  tmpfilesEntry = { name, ... }: {
    options = {
      type = mkOption { type = types.str; default = name; };
      mode = mkOption { type = types.str; default = "-"; };
      user = mkOption { type = types.str; default = "-"; };
      group = mkOption { type = types.str; default = "-"; };
      age = mkOption { type = types.str; default = "-"; };
      argument = mkOption { type = types.str; default = ""; };
    };
  };

  userOptions = { name, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; };
      uid = mkOption { type = types.nullOr types.int; default = null; };
      isSystemUser = mkOption { type = types.bool; default = false; };
      isNormalUser = mkOption { type = types.bool; default = false; };
      group = mkOption { type = types.str; default = ""; };
      extraGroups = mkOption { type = types.listOf types.str; default = [ ]; };
      home = mkOption { type = types.path; default = "/var/empty"; };
      description = mkOption { type = types.str; default = ""; };
    };
  };
in
{
  options = {
    assertions = mkOption { type = types.listOf types.unspecified; internal = true; default = [ ]; };
    warnings = mkOption { type = types.listOf types.str; internal = true; default = [ ]; };
    meta.maintainers = mkOption { type = types.listOf types.raw; default = [ ]; };
    meta.doc = mkOption { type = types.path; internal = true; };

    users.users = mkOption { type = types.attrsOf (types.submodule userOptions); default = { }; };
    users.groups = mkOption {
      type = types.attrsOf (types.submodule {
        options.gid = mkOption { type = types.nullOr types.int; default = null; };
        options.members = mkOption { type = types.listOf types.str; default = [ ]; };
      });
      default = { };
    };

    systemd.services = mkOption { type = types.attrsOf (types.submodule serviceOptions); default = { }; };
    systemd.tmpfiles.rules = mkOption { type = types.listOf types.str; default = [ ]; };
    systemd.tmpfiles.settings = mkOption {
      type = types.attrsOf (types.attrsOf (types.attrsOf (types.submodule tmpfilesEntry)));
      default = { };
    };

    environment.systemPackages = mkOption { type = types.listOf types.package; default = [ ]; };
    nix.package = mkOption { type = types.package; default = pkgs.nix; };
    programs.ssh.package = mkOption { type = types.package; default = pkgs.openssh; };

    services.caddy = {
      enable = lib.mkEnableOption "Caddy";
      user = mkOption { type = types.str; default = "caddy"; };
      group = mkOption { type = types.str; default = "caddy"; };
      virtualHosts = mkOption {
        type = types.attrsOf (types.submodule { options.extraConfig = mkOption { type = types.lines; default = ""; }; });
        default = { };
      };
    };

    services.postgresql = {
      enable = lib.mkEnableOption "PostgreSQL";
      ensureDatabases = mkOption { type = types.listOf types.str; default = [ ]; };
      ensureUsers = mkOption {
        type = types.listOf (types.submodule {
          options.name = mkOption { type = types.str; };
          options.ensureDBOwnership = mkOption { type = types.bool; default = false; };
          options.ensureClauses = mkOption { type = types.attrsOf types.bool; default = { }; };
        });
        default = [ ];
      };
    };
  };

  config = lib.mkMerge [
    {
      # users-groups.nix: every user is exactly one of system/normal and has a group.
      assertions = lib.concatLists (lib.mapAttrsToList
        (_: user: [
          {
            assertion = lib.xor (user.isSystemUser || (user.uid != null && user.uid < 1000)) user.isNormalUser;
            message = "Exactly one of users.users.${user.name}.isSystemUser and users.users.${user.name}.isNormalUser must be set.";
          }
          {
            assertion = user.group != "";
            message = "users.users.${user.name}.group is unset. This used to default to nogroup, but this is unsafe.";
          }
        ])
        config.users.users);
    }
    (lib.mkIf config.services.caddy.enable {
      # caddy/default.nix: its user (uid 239 from ids.nix) only when the default name is kept.
      users.users = lib.optionalAttrs (config.services.caddy.user == "caddy") {
        caddy = { uid = 239; group = config.services.caddy.group; home = "/var/lib/caddy"; };
      };
      users.groups = lib.optionalAttrs (config.services.caddy.group == "caddy") { caddy.gid = 239; };
      systemd.services.caddy = {
        description = "Caddy";
        wantedBy = [ "multi-user.target" ];
        serviceConfig = {
          ExecStart = "${pkgs.caddy}/bin/caddy run";
          User = config.services.caddy.user;
          Group = config.services.caddy.group;
        };
      };
    })
    (lib.mkIf config.services.postgresql.enable {
      users.users.postgres = { uid = 71; group = "postgres"; home = "/var/lib/postgresql"; };
      users.groups.postgres.gid = 71;
      systemd.services.postgresql.serviceConfig.User = "postgres";
      systemd.services.postgresql-setup.serviceConfig.User = "postgres";
    })
  ];
}

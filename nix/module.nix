# services.despacito: the server as a hardened systemd service behind a Unix
# socket in /run/despacito (RuntimeDirectory), state in /var/lib/despacito
# (StateDirectory), secrets as systemd credentials (LoadCredential, read via
# DESPACITO_*_FILE), git/nix/colmena/ssh on PATH, and a `despacito` admin
# command on the system PATH that runs the CLI as the service would.
#
# The binary's Deno permission flags are fixed at build time (see README,
# "Permissions"). Everything the cached package's flags already allow is
# passed at run time (socket name and mode, colmena, git and nix from PATH,
# settings, credentials); only a flake dir outside /var/lib/despacito needs
# write access the flags lack, and only then is the package rebuilt.
# tests/nix_module_test.ts evaluates this file with the real nixpkgs lib.
{ config, lib, pkgs, ... }:
let
  cfg = config.services.despacito;
  inherit (lib) mkOption mkEnableOption mkIf types;

  stateDir = "/var/lib/despacito";
  socketDir = "/run/despacito";
  socketPath = "${socketDir}/${cfg.socketName}";
  credentialsDir = "/run/credentials/despacito.service";
  flakeDirInState = lib.hasPrefix "${stateDir}/" cfg.flakeDir;
  localDbUri = "postgresql://despacito@/despacito?host=/run/postgresql";

  # The flags of the cached package grant /var/lib/despacito (and below), so
  # only a flake dir elsewhere needs a binary built with matching flags.
  package = if flakeDirInState then cfg.package else cfg.package.override { flakeDir = cfg.flakeDir; };

  # Variables the module sets from its own options: a clash in `settings`
  # would be silently overridden or break the binary's permission flags.
  reserved = {
    DESPACITO_DATA_DIR = "it is the StateDirectory, ${stateDir}";
    DESPACITO_FLAKE_DIR = "use services.despacito.flakeDir";
    DESPACITO_LISTEN_SOCKET = "use services.despacito.socketName";
    DESPACITO_LISTEN_SOCKET_MODE = "use services.despacito.socketMode";
    DESPACITO_SHUTDOWN_TIMEOUT = "use services.despacito.shutdownTimeout";
    DESPACITO_COLMENA_BIN = "use services.despacito.colmenaPackage";
    DESPACITO_GIT_BIN = "git comes from the service's PATH";
    DESPACITO_NIX_BIN = "use nix.package";
  };
  # Secret options (src/config/table.ts `secret: true`) and every *_FILE path
  # belong in `credentials`: settings are written world-readable to the store.
  secretNames = [
    "DESPACITO_POSTGRES_CONNECTION_URI"
    "DESPACITO_OIDC_CLIENT_SECRET"
    "DESPACITO_OIDC_CLIENT_SECRETS"
  ];
  isSecretSetting = name: lib.elem name secretNames || lib.hasSuffix "_FILE" name;

  toEnvValue = v:
    if lib.isBool v then lib.boolToString v
    else toString v;
  settingsEnv = lib.mapAttrs (_: toEnvValue) (lib.filterAttrs (_: v: v != null) cfg.settings);
  settingNames = lib.attrNames settingsEnv;

  credentialEnv = lib.mapAttrs' (name: _: lib.nameValuePair "${name}_FILE" "${credentialsDir}/${name}") cfg.credentials;

  # git runs in a tree despacito owns; no hooks or fsmonitor from the tree,
  # whatever a commit in the fleet repository contains.
  gitConfig = [
    { key = "safe.directory"; value = cfg.flakeDir; }
    { key = "core.hooksPath"; value = "/dev/null"; }
    { key = "core.fsmonitor"; value = "false"; }
  ];
  gitEnv = { GIT_CONFIG_COUNT = toString (lib.length gitConfig); }
    // lib.listToAttrs (lib.concatLists (lib.imap0
    (i: c: [
      (lib.nameValuePair "GIT_CONFIG_KEY_${toString i}" c.key)
      (lib.nameValuePair "GIT_CONFIG_VALUE_${toString i}" c.value)
    ])
    gitConfig));

  environment = settingsEnv // gitEnv // credentialEnv // {
    DESPACITO_DATA_DIR = stateDir;
    DESPACITO_FLAKE_DIR = cfg.flakeDir;
    DESPACITO_LISTEN_SOCKET = socketPath;
    DESPACITO_LISTEN_SOCKET_MODE = cfg.socketMode;
    DESPACITO_SHUTDOWN_TIMEOUT = "${toString cfg.shutdownTimeout}s";
    HOME = stateDir;
  } // lib.optionalAttrs cfg.database.createLocally {
    DESPACITO_POSTGRES_CONNECTION_URI = localDbUri;
  };

  servicePath = [
    pkgs.git
    config.nix.package
    cfg.colmenaPackage
    config.programs.ssh.package
    # `kill` ends a cancelled colmena's whole process group.
    pkgs.procps
  ];

  # `despacito …` for the operator: the CLI as the despacito user with the
  # service's environment and credentials (like nixpkgs' nextcloud-occ).
  # Credentials exist while the service runs; with the embedded database
  # one-shot commands need it stopped (README, NixOS).
  cli = pkgs.writeShellScriptBin "despacito" ''
    set -eu
    ${lib.concatStringsSep "\n" (lib.mapAttrsToList (n: v: "export ${n}=${lib.escapeShellArg v}") environment)}
    export PATH=${lib.escapeShellArg (lib.makeBinPath servicePath)}:"$PATH"
    if [ "$(${pkgs.coreutils}/bin/id -un)" = despacito ]; then
      exec ${lib.getExe package} "$@"
    fi
    exec ${pkgs.util-linux}/bin/runuser -u despacito -- ${lib.getExe package} "$@"
  '';
in
{
  options.services.despacito = {
    enable = mkEnableOption "despacito, continuous delivery for NixOS fleets";

    package = lib.mkPackageOption pkgs "despacito" {
      extraDescription = ''
        This flake's `overlays.default` provides it (`nixosModules.default`
        adds the overlay). Rebuilt with other permission flags only when
        `flakeDir` is outside /var/lib/despacito.
      '';
    };

    colmenaPackage = lib.mkPackageOption pkgs "colmena" { };

    socketName = mkOption {
      type = types.strMatching "[A-Za-z0-9._-]+";
      default = "http.sock";
      description = "Socket file in /run/despacito; point Caddy at unix//run/despacito/<name>.";
    };

    socketMode = mkOption {
      type = types.strMatching "0?[0-7]{3}";
      default = "0660";
      description = "Mode of the socket (the despacito group may connect: Caddy is added to it).";
    };

    flakeDir = mkOption {
      type = types.path;
      default = "${stateDir}/flake";
      description = ''
        Git work tree of the deployment flake. Outside /var/lib/despacito it is
        created by tmpfiles (owned by despacito) and the package is rebuilt
        with write permission for it.
      '';
    };

    shutdownTimeout = mkOption {
      type = types.ints.positive;
      default = 30;
      description = ''
        Seconds a running deployment may take at stop (DESPACITO_SHUTDOWN_TIMEOUT);
        systemd waits 15 s more before killing what is left.
      '';
    };

    settings = mkOption {
      default = { };
      description = ''
        More DESPACITO_* variables (see `despacito help config`). They are
        written to the Nix store, readable by every user: secrets go in
        `credentials`. Variables the module sets itself are rejected.
      '';
      example = lib.literalExpression ''
        {
          DESPACITO_BASE_URL = "https://despacito.example.com";
          DESPACITO_TRUSTED_PROXIES = "unix";
          DESPACITO_TOKEN_BOOTSTRAP = false;
        }
      '';
      type = types.submodule {
        freeformType = with types; attrsOf (nullOr (oneOf [ str int bool ]));
        options = {
          DESPACITO_BASE_URL = mkOption {
            type = types.nullOr types.str;
            default = null;
            example = "https://despacito.example.com";
            description = "Public URL of the service (links, OIDC redirects).";
          };
          DESPACITO_LOG_LEVEL = mkOption {
            type = types.enum [ "debug" "info" "warn" "error" ];
            default = "info";
            description = "Lowest level logged to the journal.";
          };
          DESPACITO_TRUSTED_PROXIES = mkOption {
            type = types.nullOr types.str;
            default = if config.services.caddy.enable then "unix" else null;
            defaultText = lib.literalExpression ''if config.services.caddy.enable then "unix" else null'';
            description = "Proxies whose X-Forwarded-For is believed (`unix`: the socket, i.e. Caddy).";
          };
        };
      };
    };

    credentials = mkOption {
      type = types.attrsOf types.path;
      default = { };
      example = {
        DESPACITO_OIDC_CLIENT_SECRET = "/run/agenix/despacito-oidc";
        DESPACITO_ADMIN_PASSWORD = "/run/agenix/despacito-admin";
      };
      description = ''
        Secret options read from files: each becomes a systemd credential
        (LoadCredential) and the service sees <NAME>_FILE pointing at it, so
        the files may stay root-only.
      '';
    };

    database.createLocally = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Use a local PostgreSQL database `despacito` (peer authentication over
        /run/postgresql) instead of the embedded PGlite.
      '';
    };

    addCaddyToGroup = mkOption {
      type = types.bool;
      default = config.services.caddy.enable;
      defaultText = lib.literalExpression "config.services.caddy.enable";
      description = "Let Caddy connect to the socket (SupplementaryGroups of caddy.service).";
    };
  };

  config = mkIf cfg.enable {
    assertions =
      map
        (name: {
          assertion = !(lib.elem name settingNames);
          message = "services.despacito.settings.${name} is set by the module: ${reserved.${name}}.";
        })
        (lib.attrNames reserved)
      ++ map
        (name: {
          assertion = !(isSecretSetting name);
          message = "services.despacito.settings.${name} would put a secret world-readable into the Nix store: use services.despacito.credentials.${lib.removeSuffix "_FILE" name} = <file>.";
        })
        settingNames
      ++ [
        {
          assertion = !(cfg.database.createLocally && cfg.credentials ? DESPACITO_POSTGRES_CONNECTION_URI);
          message = "services.despacito.database.createLocally and services.despacito.credentials.DESPACITO_POSTGRES_CONNECTION_URI both choose the database: keep one.";
        }
        {
          assertion = !(cfg.addCaddyToGroup && !config.services.caddy.enable);
          message = "services.despacito.addCaddyToGroup needs services.caddy.enable.";
        }
      ];

    users.users.despacito = {
      isSystemUser = true;
      group = "despacito";
      home = stateDir;
    };
    users.groups.despacito = { };

    # Caddy joins the group through its unit, not users.users.caddy (which
    # would create a half-defined user when Caddy is off); this also
    # restarts Caddy so the new group takes effect.
    systemd.services.caddy = mkIf cfg.addCaddyToGroup {
      serviceConfig.SupplementaryGroups = [ "despacito" ];
    };

    services.postgresql = mkIf cfg.database.createLocally {
      enable = true;
      ensureDatabases = [ "despacito" ];
      ensureUsers = [{ name = "despacito"; ensureDBOwnership = true; }];
    };

    systemd.tmpfiles.settings."10-despacito" = mkIf (!flakeDirInState) {
      ${cfg.flakeDir}.d = { user = "despacito"; group = "despacito"; mode = "0750"; };
    };

    environment.systemPackages = [ cli ];

    systemd.services.despacito = {
      description = "despacito continuous delivery";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      # postgresql.target: the database and role exist (postgresql-setup.service).
      after = [ "network-online.target" ] ++ lib.optional cfg.database.createLocally "postgresql.target";
      requires = lib.optional cfg.database.createLocally "postgresql.target";
      # A switch must not cut a running deployment (possibly of this very
      # host): restart deliberately with `systemctl restart despacito`.
      restartIfChanged = false;
      path = servicePath;
      inherit environment;

      serviceConfig = {
        ExecStart = "${lib.getExe package} serve";
        User = "despacito";
        Group = "despacito";
        StateDirectory = "despacito";
        StateDirectoryMode = "0750";
        RuntimeDirectory = "despacito";
        RuntimeDirectoryMode = "0750";
        LoadCredential = lib.mapAttrsToList (name: file: "${name}:${file}") cfg.credentials;
        Restart = "on-failure";
        RestartSec = "5s";
        # SIGTERM to despacito only: it drains the running deployment
        # (colmena, nix, ssh keep running) for shutdownTimeout, then ends
        # them itself; whatever is left at TimeoutStopSec gets SIGKILL.
        KillMode = "mixed";
        KillSignal = "SIGTERM";
        TimeoutStopSec = cfg.shutdownTimeout + 15;
        UMask = "0027";
        LimitNOFILE = 65536;
        ReadWritePaths = lib.optional (!flakeDirInState) cfg.flakeDir;

        # Hardening that git, nix (through the daemon socket), colmena and
        # ssh still work under. V8 needs writable+executable memory, so no
        # MemoryDenyWriteExecute; AF_NETLINK lists network interfaces.
        NoNewPrivileges = true;
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateDevices = true;
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        ProtectClock = true;
        ProtectHostname = true;
        ProtectProc = "invisible";
        RestrictAddressFamilies = [ "AF_UNIX" "AF_INET" "AF_INET6" "AF_NETLINK" ];
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        RemoveIPC = true;
        LockPersonality = true;
        SystemCallArchitectures = "native";
        SystemCallFilter = [ "@system-service" "~@privileged" ];
        CapabilityBoundingSet = "";
        AmbientCapabilities = "";
      };
    };
  };

  meta.doc = ./module.md;
}

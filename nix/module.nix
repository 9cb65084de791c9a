# services.despacito: the server as a hardened systemd service behind a Unix
# socket in /run/despacito (RuntimeDirectory), state in /var/lib/despacito
# (StateDirectory), secrets as systemd credentials (LoadCredential, read via
# DESPACITO_*_FILE), git/nix/colmena on PATH. The binary's permission flags
# are fixed at build time, so moving the flake dir or socket rebuilds it
# with matching flags.
{ config, lib, pkgs, ... }:
let
  cfg = config.services.despacito;
  inherit (lib) mkOption mkEnableOption mkIf types;
  stateDir = "/var/lib/despacito";
  socketPath = "/run/despacito/${cfg.socketName}";
  package = cfg.package.override {
    inherit socketPath;
    dataDir = stateDir;
    flakeDir = cfg.flakeDir;
    colmenaBin = "${cfg.colmenaPackage}/bin/colmena";
  };
in
{
  options.services.despacito = {
    enable = mkEnableOption "despacito, continuous delivery for NixOS fleets";

    package = mkOption {
      type = types.package;
      description = "The despacito package (its flags are rebuilt for the paths below).";
    };

    colmenaPackage = mkOption {
      type = types.package;
      default = pkgs.colmena;
      defaultText = lib.literalExpression "pkgs.colmena";
      description = "colmena used for deployments.";
    };

    socketName = mkOption {
      type = types.str;
      default = "http.sock";
      description = "Socket file in /run/despacito; point Caddy at unix//run/despacito/<name>.";
    };

    socketMode = mkOption {
      type = types.str;
      default = "0660";
      description = "Mode of the socket (the despacito group may connect: add caddy to it).";
    };

    flakeDir = mkOption {
      type = types.str;
      default = "${stateDir}/flake";
      description = "Git work tree of the deployment flake.";
    };

    baseUrl = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "https://despacito.example.com";
      description = "Public URL (DESPACITO_BASE_URL).";
    };

    shutdownTimeout = mkOption {
      type = types.ints.positive;
      default = 30;
      description = "Seconds in-flight work may take at stop (DESPACITO_SHUTDOWN_TIMEOUT); systemd waits 15 s more.";
    };

    settings = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = { DESPACITO_LOG_LEVEL = "debug"; DESPACITO_TOKEN_BOOTSTRAP = "false"; };
      description = "More DESPACITO_* variables (see `despacito help config`). No secrets here.";
    };

    credentials = mkOption {
      type = types.attrsOf types.path;
      default = { };
      example = { DESPACITO_POSTGRES_CONNECTION_URI = "/run/agenix/despacito-pg"; };
      description = ''
        Secret options read from files: each becomes a systemd credential and
        the service sees <NAME>_FILE pointing at it. The files stay root-only.
      '';
    };

    database.createLocally = mkOption {
      type = types.bool;
      default = false;
      description = "Use a local PostgreSQL database 'despacito' (peer auth over its socket) instead of the embedded one.";
    };

    addCaddyToGroup = mkOption {
      type = types.bool;
      default = config.services.caddy.enable;
      defaultText = lib.literalExpression "config.services.caddy.enable";
      description = "Let Caddy connect to the socket.";
    };
  };

  config = mkIf cfg.enable {
    users.users.despacito = {
      isSystemUser = true;
      group = "despacito";
      home = stateDir;
    };
    users.groups.despacito = { };
    users.users.caddy.extraGroups = mkIf cfg.addCaddyToGroup [ "despacito" ];

    services.postgresql = mkIf cfg.database.createLocally {
      enable = true;
      ensureDatabases = [ "despacito" ];
      ensureUsers = [{ name = "despacito"; ensureDBOwnership = true; }];
    };

    systemd.services.despacito = {
      description = "despacito continuous delivery";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ] ++ lib.optional cfg.database.createLocally "postgresql.service";
      requires = lib.optional cfg.database.createLocally "postgresql.service";
      # procps: `kill`, which ends a cancelled colmena's whole process group.
      path = [ pkgs.git config.nix.package cfg.colmenaPackage pkgs.openssh pkgs.procps ];
      environment = {
        DESPACITO_DATA_DIR = stateDir;
        DESPACITO_FLAKE_DIR = cfg.flakeDir;
        DESPACITO_LISTEN_SOCKET = socketPath;
        DESPACITO_LISTEN_SOCKET_MODE = cfg.socketMode;
        DESPACITO_COLMENA_BIN = "${cfg.colmenaPackage}/bin/colmena";
        DESPACITO_SHUTDOWN_TIMEOUT = "${toString cfg.shutdownTimeout}s";
        HOME = stateDir;
      }
      // lib.optionalAttrs (cfg.baseUrl != null) { DESPACITO_BASE_URL = cfg.baseUrl; }
      // lib.optionalAttrs cfg.database.createLocally {
        DESPACITO_POSTGRES_CONNECTION_URI = "postgresql://despacito@/despacito?host=/run/postgresql";
      }
      // lib.mapAttrs' (name: _: lib.nameValuePair "${name}_FILE" "%d/${name}") cfg.credentials
      // cfg.settings;

      serviceConfig = {
        ExecStart = "${package}/bin/despacito serve";
        User = "despacito";
        Group = "despacito";
        StateDirectory = "despacito";
        StateDirectoryMode = "0750";
        RuntimeDirectory = "despacito";
        RuntimeDirectoryMode = "0750";
        LoadCredential = lib.mapAttrsToList (name: file: "${name}:${file}") cfg.credentials;
        Restart = "on-failure";
        RestartSec = "5s";
        KillSignal = "SIGTERM";
        # despacito's own deadline first (then it closes the database), then systemd's.
        TimeoutStopSec = cfg.shutdownTimeout + 15;
        UMask = "0027";
        ReadWritePaths = lib.optional (!lib.hasPrefix "${stateDir}/" cfg.flakeDir) cfg.flakeDir;

        # Hardening. V8 needs writable+executable memory (no MemoryDenyWriteExecute);
        # nix and colmena need the network and the nix daemon socket.
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
        RestrictAddressFamilies = [ "AF_UNIX" "AF_INET" "AF_INET6" ];
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        SystemCallArchitectures = "native";
        CapabilityBoundingSet = "";
        AmbientCapabilities = "";
      };
    };
  };
}

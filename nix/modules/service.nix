# The part the agent and coordinator modules share: options and a hardened systemd unit
# running `fleetdocs --home <state dir> run`. Each role module calls this with its name,
# whether it must run as root, and any role-specific options, environment and unit settings.
{
  role,
  description,
  runAsRoot,
  extraOptions ? _lib: { },
  extraEnvironment ? _cfg: { },
  extraUnitConfig ? { },
}:
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.fleetdocs.${role};
  home = "/var/lib/${cfg.stateDirectory}";
  unprivileged = {
    # No fixed account: systemd allocates one per start and owns the state directory for it.
    DynamicUser = true;
    NoNewPrivileges = true;
    PrivateTmp = true;
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateDevices = true;
    PrivateUsers = true;
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    RestrictNamespaces = true;
    RestrictSUIDSGID = true;
    CapabilityBoundingSet = "";
    SystemCallFilter = [ "@system-service" ];
    SystemCallArchitectures = "native";
  };
in
{
  options.services.fleetdocs.${role} = {
    enable = lib.mkEnableOption "the fleetdocs ${role}";
    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.fleetdocs or (pkgs.callPackage ../package.nix { });
      defaultText = lib.literalExpression "pkgs.fleetdocs";
      description = "The fleetdocs package to run.";
    };
    stateDirectory = lib.mkOption {
      type = lib.types.str;
      default = "fleetdocs-${role}";
      description = "Directory below /var/lib used as the fleetdocs home (keys' state, replicas, blobs).";
    };
    keyFile = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "/run/keys/fleetdocs-${role}";
      description = ''
        Private key of this ${role} (an OpenSSH ed25519 key). Handed to the service with
        systemd's LoadCredential, so it may stay readable by root only. With null, fleetdocs
        creates a key in its home on first start.
      '';
    };
    extraArgs = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      description = "Extra arguments appended to `fleetdocs --home <dir> run`.";
    };
  }
  // extraOptions lib;

  config = lib.mkIf cfg.enable {
    systemd.services."fleetdocs-${role}" = {
      inherit description;
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      environment = {
        FLEETDOCS_ROLE = role;
      }
      // lib.optionalAttrs (cfg.keyFile != null) { FLEETDOCS_KEY_FILE = "%d/key"; }
      // extraEnvironment cfg;
      serviceConfig = {
        ExecStart = lib.escapeShellArgs (
          [
            "${cfg.package}/bin/fleetdocs"
            "--home"
            home
            "run"
          ]
          ++ cfg.extraArgs
        );
        StateDirectory = cfg.stateDirectory;
        StateDirectoryMode = "0700";
        LoadCredential = lib.optional (cfg.keyFile != null) "key:${cfg.keyFile}";
        Restart = "always";
        RestartSec = 5;
        UMask = "0077";
        LockPersonality = true;
        RestrictRealtime = true;
        RestrictAddressFamilies = [
          "AF_UNIX"
          "AF_INET"
          "AF_INET6"
          "AF_NETLINK"
        ];
      }
      // lib.optionalAttrs (!runAsRoot) unprivileged;
    }
    // extraUnitConfig;
  };
}

# services.fleetdocs.agent: follows this device's desired state, materializes artifacts into
# /nix/store, activates them, health-checks and rolls back.
#
# It runs as root, deliberately: it writes store paths into /nix/store (owned by root) and
# activation (`switch-to-configuration`) changes /etc, /boot, users and systemd units. It
# also gets no private mount namespace (no PrivateTmp/ProtectSystem): activation mounts
# things like /run/wrappers, which must be visible to the whole system, and runs setuid-free
# but privileged tools. What remains is restricted address families, realtime and personality. `restartIfChanged = false` keeps an activation
# from restarting the agent that is running it; the new unit takes over on the next boot or
# when the agent re-executes itself.
import ./service.nix {
  role = "agent";
  description = "fleetdocs agent";
  runAsRoot = true;
  extraOptions = lib: {
    activationCommand = lib.mkOption {
      type = lib.types.str;
      default = "bin/switch-to-configuration switch";
      description = ''
        Command that activates a materialized artifact; a relative path is resolved inside the
        artifact's root store path.
      '';
    };
    healthCheckCommand = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "systemctl is-system-running --wait";
      description = "Command whose success after activation confirms the new generation; null: none.";
    };
  };
  extraEnvironment =
    cfg:
    {
      FLEETDOCS_ACTIVATION_COMMAND = cfg.activationCommand;
    }
    // (if cfg.healthCheckCommand == null then { } else {
      FLEETDOCS_HEALTH_CHECK_COMMAND = cfg.healthCheckCommand;
    });
  extraUnitConfig = {
    restartIfChanged = false;
  };
}

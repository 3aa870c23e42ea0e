# services.fleetdocs.coordinator: an always-on peer that relays fleet namespaces, stores
# artifacts and witnesses the audit log. It only talks to the network and writes its own
# state directory, so it runs as a dynamic unprivileged user with a strict sandbox.
import ./service.nix {
  role = "coordinator";
  description = "fleetdocs coordinator";
  runAsRoot = false;
}

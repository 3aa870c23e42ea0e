# For users without flakes: `nix-build nix/` builds fleetdocs with the nixpkgs on NIX_PATH;
# the NixOS modules are `nix/modules/agent.nix` and `nix/modules/coordinator.nix`.
{
  pkgs ? import <nixpkgs> { },
}:
pkgs.callPackage ./package.nix { }

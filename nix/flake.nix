{
  description = "fleetdocs: serverless fleet management for NixOS devices on iroh-docs";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";

  outputs =
    { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: rec {
        fleetdocs = pkgs.callPackage ./package.nix { };
        default = fleetdocs;
      });

      overlays.default = final: _prev: { fleetdocs = final.callPackage ./package.nix { }; };

      nixosModules = {
        agent = {
          imports = [ ./modules/agent.nix ];
          nixpkgs.overlays = [ self.overlays.default ];
        };
        coordinator = {
          imports = [ ./modules/coordinator.nix ];
          nixpkgs.overlays = [ self.overlays.default ];
        };
      };
    };
}

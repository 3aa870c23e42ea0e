# fleetdocs as a Python application. Pure-Python dependencies come from nixpkgs (their
# versions may differ from pyproject's pins, hence pythonRelaxDeps); iroh and automerge are
# prebuilt wheels, see ./wheels.nix.
{
  lib,
  stdenv,
  python311Packages,
  autoPatchelfHook,
}:
let
  py = python311Packages;
  wheels = import ./wheels.nix;
  system = stdenv.hostPlatform.system;
  binaryWheel =
    pname:
    let
      wheel = wheels.${pname};
      platform =
        wheel.${system} or (throw "fleetdocs: no ${pname} wheel pinned for ${system} (see nix/wheels.nix)");
    in
    py.buildPythonPackage {
      inherit pname;
      inherit (wheel) version;
      format = "wheel";
      src = py.fetchPypi {
        inherit pname;
        inherit (wheel) version;
        inherit (platform) dist python abi platform hash;
        format = "wheel";
      };
      nativeBuildInputs = [ autoPatchelfHook ];
      buildInputs = [ stdenv.cc.cc.lib ];
    };
in
py.buildPythonApplication {
  pname = "fleetdocs";
  version = "0.1.0";
  pyproject = true;
  src = lib.cleanSource ../.;
  build-system = [ py.setuptools ];
  dependencies = [
    (binaryWheel "iroh")
    (binaryWheel "automerge")
  ]
  ++ (with py; [
    blake3
    pynacl
    cryptography
    anyio
    rich
    typer
  ]);
  pythonRelaxDeps = true;
  # The test suite needs nix-bin, network namespaces and real iroh nodes; it runs in CI.
  doCheck = false;
  pythonImportsCheck = [ "fleetdocs" ];
  meta = {
    description = "Serverless fleet management for NixOS devices on iroh-docs";
    license = lib.licenses.mit;
    mainProgram = "fleetdocs";
    platforms = [ "x86_64-linux" ];
  };
}

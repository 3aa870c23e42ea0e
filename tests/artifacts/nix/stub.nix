# A minimal stand-in for the NixOS module system (nixpkgs is not available offline):
# just enough of `lib` for nix/modules/*.nix, and `evalModule`, which type-checks settings
# against the declared options, fills in defaults and resolves `mkIf`.
let
  inherit (builtins)
    attrNames
    all
    concatStringsSep
    isAttrs
    isBool
    isList
    isString
    listToAttrs
    mapAttrs
    ;
  type = name: check: { inherit name check; };
  isOption = value: isAttrs value && (value._type or null) == "option";
  escape = arg: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] arg + "'";
in
rec {
  lib = {
    mkOption = attrs: attrs // { _type = "option"; };
    mkEnableOption = name: lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Whether to enable ${name}.";
    };
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    literalExpression = text: { _type = "literalExpression"; inherit text; };
    optional = condition: value: if condition then [ value ] else [ ];
    optionalAttrs = condition: attrs: if condition then attrs else { };
    escapeShellArgs = args: concatStringsSep " " (map escape args);
    types = {
      str = type "str" isString;
      bool = type "bool" isBool;
      package = type "package" (value: isAttrs value && value ? outPath);
      listOf = element: type "list of ${element.name}" (value: isList value && all element.check value);
      nullOr = inner: type "null or ${inner.name}" (value: value == null || inner.check value);
    };
  };

  # A fake package: the modules only interpolate it into ExecStart.
  pkgs = {
    fleetdocs = {
      name = "fleetdocs";
      outPath = "/nix/store/00000000000000000000000000000000-fleetdocs";
    };
  };

  # Values of `options` given user `settings`; unknown or ill-typed settings abort evaluation.
  resolve =
    prefix: options: settings:
    let
      unknown = builtins.filter (name: !(options ? ${name})) (attrNames settings);
    in
    if unknown != [ ] then
      throw "unknown option ${prefix}${builtins.head unknown}"
    else
      mapAttrs (
        name: option:
        let
          path = "${prefix}${name}";
        in
        if isOption option then
          (
            if settings ? ${name} then
              (
                if option.type.check settings.${name} then
                  settings.${name}
                else
                  throw "option ${path} is not of type ${option.type.name}"
              )
            else
              option.default
          )
        else
          resolve "${path}." option (settings.${name} or { })
      ) options;

  # Declared option names below `services.fleetdocs.<role>` (to compare modules' interfaces).
  optionNames =
    module: role:
    attrNames (module { inherit lib pkgs; config = { }; }).options.services.fleetdocs.${role};

  evalModule =
    module: settings:
    let
      declared = (module { inherit lib pkgs config; }).options;
      config = resolve "" declared settings;
      output = (module { inherit lib pkgs config; }).config;
    in
    if output._type or null == "if" then (if output.condition then output.content else { }) else output;
}

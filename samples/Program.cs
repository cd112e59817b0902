using Fuselage;
using Fuselage.Samples;

return FuselageCommand.Run(args);

// FUSE, io_uring and mount(2): everything here runs on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

import TandemProtocol

extension Hello {
    /// The hello with every codec of §4.1 in `codecs` (§5.1): the CLI shows no picture but
    /// keeps (`--save-frames`) and counts whatever arrives, so a publisher may send it any.
    var acceptingEveryCodec: Hello {
        var hello = self
        hello.codecs = CodecList(MediaCodec.allCases)
        return hello
    }
}

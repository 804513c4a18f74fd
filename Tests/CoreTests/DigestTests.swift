import SwitchboardCore
import Testing

struct DigestTests {
    @Test func sha256KnownVector() {
        #expect(Digest.hex(Digest.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func hmacRFC4231TestCase2() {
        let mac = Digest.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))
        #expect(Digest.hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func base64URLRoundTrips() {
        for length in 0..<20 {
            let bytes = Digest.randomBytes(length)
            #expect(Digest.base64URLDecode(Digest.base64URL(bytes)) == bytes)
        }
        #expect(Digest.base64URL(Array("hi?>".utf8)) == "aGk_Pg")
        #expect(Digest.base64URLDecode("a") == nil)
        #expect(Digest.base64URLDecode("a+b") == nil)
    }

    @Test func constantTimeEquality() {
        #expect(Digest.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!Digest.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!Digest.constantTimeEquals([1, 2], [1, 2, 3]))
    }
}

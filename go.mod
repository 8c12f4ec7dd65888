module github.com/muc-kick/muc-kick

go 1.26.0

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/julienschmidt/httprouter v1.3.0
	gosrc.io/xmpp v0.5.1
)

require github.com/google/uuid v1.1.1 // indirect

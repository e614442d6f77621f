// Package archtest owns the test that keeps berth's import arrows pointing
// one way (shared/ARCHITECTURE.md): CLI → Engine API → daemon services →
// stores, runtime, network → leaves. It has no code of its own.
package archtest

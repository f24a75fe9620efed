//! Context words: the cues around a candidate that make it (or unmake it) PII.
//!
//! Owns: one case-insensitive Aho-Corasick automaton over every cue in the five supported
//! languages, each cue tagged with a [`Ctx`] kind (the new identifier kinds also in Italian and Dutch), and the look-ups recognizers use ("which cue
//! is nearest before this position?"). Cues are searched lazily in a small window around a
//! candidate, or in the 32-byte blocks around candidates ([`CueCache`]), never over the whole
//! text. Does not own: deciding what a cue means for a score.

use std::cell::RefCell;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// What a cue word hints at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctx {
    /// Telephone numbers.
    Phone,
    /// Payment cards.
    Card,
    /// US social security numbers.
    Ssn,
    /// Passports.
    Passport,
    /// Dates of birth.
    Birth,
    /// UK national insurance numbers.
    Nino,
    /// Bank accounts.
    Bank,
    /// IP addresses.
    Ip,
    /// Postal codes.
    Zip,
    /// Addresses that follow the cue.
    Address,
    /// Words that introduce a name ("my name is", "Dear", sign-offs).
    Name,
    /// Honorifics that are part of the name span ("Mr", "Dr").
    Title,
    /// Identifiers that are not PII (orders, tracking, versions, tickets, totals).
    NotPii,
    /// German tax identification numbers.
    DeTaxId,
    /// German identity cards.
    DeIdCard,
    /// French social security numbers.
    FrNir,
    /// Spanish DNI / NIE numbers.
    EsDni,
    /// Italian fiscal codes.
    ItFiscal,
    /// Dutch citizen service numbers.
    NlBsn,
    /// MAC addresses.
    Mac,
    /// Cryptocurrency wallets.
    Crypto,
}

const CUES: &[(&str, Ctx)] = &[
    // Phone
    ("phone", Ctx::Phone),
    ("phone number", Ctx::Phone),
    ("tel", Ctx::Phone),
    ("tel.", Ctx::Phone),
    ("telephone", Ctx::Phone),
    ("mobile", Ctx::Phone),
    ("cell", Ctx::Phone),
    ("call", Ctx::Phone),
    ("call me", Ctx::Phone),
    ("contact", Ctx::Phone),
    ("reach me", Ctx::Phone),
    ("fax", Ctx::Phone),
    ("whatsapp", Ctx::Phone),
    ("sms", Ctx::Phone),
    ("text me", Ctx::Phone),
    ("telefon", Ctx::Phone),
    ("telefonnummer", Ctx::Phone),
    ("handy", Ctx::Phone),
    ("rückruf", Ctx::Phone),
    ("erreichbar", Ctx::Phone),
    ("anrufen", Ctx::Phone),
    ("téléphone", Ctx::Phone),
    ("tél", Ctx::Phone),
    ("tél.", Ctx::Phone),
    ("mobil", Ctx::Phone),
    ("tlf", Ctx::Phone),
    ("numéro", Ctx::Phone),
    ("portable", Ctx::Phone),
    ("joignable", Ctx::Phone),
    ("appelez", Ctx::Phone),
    ("teléfono", Ctx::Phone),
    ("telefono", Ctx::Phone),
    ("móvil", Ctx::Phone),
    ("movil", Ctx::Phone),
    ("celular", Ctx::Phone),
    ("llámame", Ctx::Phone),
    ("llamar", Ctx::Phone),
    ("tfno", Ctx::Phone),
    ("llame", Ctx::Phone),
    ("llámeme", Ctx::Phone),
    ("llámenos", Ctx::Phone),
    ("rappelez", Ctx::Phone),
    ("rappeler", Ctx::Phone),
    ("ruf mich", Ctx::Phone),
    ("rufen sie mich", Ctx::Phone),
    ("tfno.", Ctx::Phone),
    ("telf", Ctx::Phone),
    ("telf.", Ctx::Phone),
    ("fijo", Ctx::Phone),
    ("电话", Ctx::Phone),
    ("手机", Ctx::Phone),
    ("联系方式", Ctx::Phone),
    ("手机号", Ctx::Phone),
    ("电话号码", Ctx::Phone),
    ("联系电话", Ctx::Phone),
    ("致电", Ctx::Phone),
    // Card
    ("card", Ctx::Card),
    ("credit card", Ctx::Card),
    ("debit card", Ctx::Card),
    ("cc", Ctx::Card),
    ("card number", Ctx::Card),
    ("visa", Ctx::Card),
    ("mastercard", Ctx::Card),
    ("amex", Ctx::Card),
    ("kreditkarte", Ctx::Card),
    ("karte", Ctx::Card),
    ("kartennummer", Ctx::Card),
    ("carte", Ctx::Card),
    ("carte bancaire", Ctx::Card),
    ("tarjeta", Ctx::Card),
    ("信用卡", Ctx::Card),
    ("银行卡", Ctx::Card),
    ("卡号", Ctx::Card),
    // SSN
    ("ssn", Ctx::Ssn),
    ("social security", Ctx::Ssn),
    ("social security number", Ctx::Ssn),
    ("social", Ctx::Ssn),
    ("ss#", Ctx::Ssn),
    // Passport
    ("passport", Ctx::Passport),
    ("passport number", Ctx::Passport),
    ("passport no", Ctx::Passport),
    ("reisepass", Ctx::Passport),
    ("reisepassnummer", Ctx::Passport),
    ("pass-nr", Ctx::Passport),
    ("passnummer", Ctx::Passport),
    ("passeport", Ctx::Passport),
    ("pasaporte", Ctx::Passport),
    ("护照", Ctx::Passport),
    ("护照号", Ctx::Passport),
    ("护照号码", Ctx::Passport),
    // Birth
    ("born", Ctx::Birth),
    ("dob", Ctx::Birth),
    ("d.o.b", Ctx::Birth),
    ("d.o.b.", Ctx::Birth),
    ("date of birth", Ctx::Birth),
    ("birth date", Ctx::Birth),
    ("birthday", Ctx::Birth),
    ("birthdate", Ctx::Birth),
    ("geboren", Ctx::Birth),
    ("geburtsdatum", Ctx::Birth),
    ("geburtstag", Ctx::Birth),
    ("geb.", Ctx::Birth),
    ("né le", Ctx::Birth),
    ("née le", Ctx::Birth),
    ("né", Ctx::Birth),
    ("née", Ctx::Birth),
    ("date de naissance", Ctx::Birth),
    ("naissance", Ctx::Birth),
    ("fecha de nacimiento", Ctx::Birth),
    ("nacido", Ctx::Birth),
    ("nacida", Ctx::Birth),
    ("nacimiento", Ctx::Birth),
    ("nací", Ctx::Birth),
    ("cumpleaños", Ctx::Birth),
    ("fecha nac", Ctx::Birth),
    ("fecha nac.", Ctx::Birth),
    ("f. nac.", Ctx::Birth),
    ("date de naiss", Ctx::Birth),
    ("date de naiss.", Ctx::Birth),
    ("nació", Ctx::Birth),
    ("naci", Ctx::Birth),
    ("nacio", Ctx::Birth),
    ("生于", Ctx::Birth),
    ("出生", Ctx::Birth),
    ("出生于", Ctx::Birth),
    ("出生日期", Ctx::Birth),
    ("生日", Ctx::Birth),
    ("出生年月", Ctx::Birth),
    // NINO
    ("national insurance", Ctx::Nino),
    ("ni number", Ctx::Nino),
    ("ni no", Ctx::Nino),
    ("ni no.", Ctx::Nino),
    ("nino", Ctx::Nino),
    // Bank
    ("iban", Ctx::Bank),
    ("rib", Ctx::Bank),
    ("bank", Ctx::Bank),
    ("bank details", Ctx::Bank),
    ("account", Ctx::Bank),
    ("konto", Ctx::Bank),
    ("compte", Ctx::Bank),
    ("cuenta", Ctx::Bank),
    ("账号", Ctx::Bank),
    ("账户", Ctx::Bank),
    // IP
    ("ip", Ctx::Ip),
    ("ip address", Ctx::Ip),
    ("server", Ctx::Ip),
    ("host", Ctx::Ip),
    ("ip-adresse", Ctx::Ip),
    ("adresse ip", Ctx::Ip),
    ("dirección ip", Ctx::Ip),
    // Zip
    ("zip", Ctx::Zip),
    ("zip code", Ctx::Zip),
    ("zipcode", Ctx::Zip),
    ("postcode", Ctx::Zip),
    ("post code", Ctx::Zip),
    ("postal code", Ctx::Zip),
    ("plz", Ctx::Zip),
    ("postleitzahl", Ctx::Zip),
    ("code postal", Ctx::Zip),
    ("código postal", Ctx::Zip),
    ("邮编", Ctx::Zip),
    ("邮政编码", Ctx::Zip),
    // Address cues (the address follows)
    ("live at", Ctx::Address),
    ("lives at", Ctx::Address),
    ("living at", Ctx::Address),
    ("live in", Ctx::Address),
    ("moved to", Ctx::Address),
    ("my address is", Ctx::Address),
    ("address is", Ctx::Address),
    ("address to", Ctx::Address),
    ("address:", Ctx::Address),
    ("address with", Ctx::Address),
    ("located at", Ctx::Address),
    ("sent to", Ctx::Address),
    ("send it to", Ctx::Address),
    ("ship to", Ctx::Address),
    ("ship it to", Ctx::Address),
    ("deliver to", Ctx::Address),
    ("post it to", Ctx::Address),
    ("mail it to", Ctx::Address),
    ("address? it is", Ctx::Address),
    ("address? it's", Ctx::Address),
    ("credit card to", Ctx::Address),
    ("wohne in", Ctx::Address),
    ("wohnhaft in", Ctx::Address),
    ("adresse:", Ctx::Address),
    ("adresse :", Ctx::Address),
    ("anschrift:", Ctx::Address),
    ("mon adresse", Ctx::Address),
    ("j'habite", Ctx::Address),
    ("j'habite au", Ctx::Address),
    ("habite au", Ctx::Address),
    ("vivo en", Ctx::Address),
    ("mi dirección es", Ctx::Address),
    ("dirección:", Ctx::Address),
    ("寄到", Ctx::Address),
    ("地址", Ctx::Address),
    ("住在", Ctx::Address),
    ("送到", Ctx::Address),
    ("收货地址", Ctx::Address),
    ("地址是", Ctx::Address),
    ("住址", Ctx::Address),
    ("家住", Ctx::Address),
    // Name cues
    ("my name is", Ctx::Name),
    ("name is", Ctx::Name),
    ("i'm", Ctx::Name),
    ("i am", Ctx::Name),
    ("this is", Ctx::Name),
    ("dear", Ctx::Name),
    ("hi", Ctx::Name),
    ("hello", Ctx::Name),
    ("hey", Ctx::Name),
    ("attention", Ctx::Name),
    ("attn", Ctx::Name),
    ("regards,", Ctx::Name),
    ("thanks,", Ctx::Name),
    ("thank you,", Ctx::Name),
    ("cheers,", Ctx::Name),
    ("sincerely,", Ctx::Name),
    ("best,", Ctx::Name),
    ("name:", Ctx::Name),
    ("name?", Ctx::Name),
    ("said", Ctx::Name),
    ("contact", Ctx::Name),
    ("for", Ctx::Name),
    ("signed", Ctx::Name),
    ("je m'appelle", Ctx::Name),
    ("je suis", Ctx::Name),
    ("ich heiße", Ctx::Name),
    ("ich heisse", Ctx::Name),
    ("ich bin", Ctx::Name),
    ("mein name ist", Ctx::Name),
    ("me llamo", Ctx::Name),
    ("mi nombre es", Ctx::Name),
    ("soy", Ctx::Name),
    ("danke!", Ctx::Name),
    ("merci,", Ctx::Name),
    ("gracias,", Ctx::Name),
    ("cordialement,", Ctx::Name),
    ("grüße,", Ctx::Name),
    ("saludos,", Ctx::Name),
    ("bonjour", Ctx::Name),
    ("hola", Ctx::Name),
    ("hallo", Ctx::Name),
    ("record", Ctx::Name),
    ("partner's name", Ctx::Name),
    ("姓名", Ctx::Name),
    ("我叫", Ctx::Name),
    ("本人", Ctx::Name),
    ("名字", Ctx::Name),
    ("联系人", Ctx::Name),
    ("收件人", Ctx::Name),
    ("我是", Ctx::Name),
    // Titles
    ("mr", Ctx::Title),
    ("mr.", Ctx::Title),
    ("mrs", Ctx::Title),
    ("mrs.", Ctx::Title),
    ("ms", Ctx::Title),
    ("ms.", Ctx::Title),
    ("miss", Ctx::Title),
    ("dr", Ctx::Title),
    ("dr.", Ctx::Title),
    ("prof.", Ctx::Title),
    ("herr", Ctx::Title),
    ("frau", Ctx::Title),
    ("mme", Ctx::Title),
    ("mlle", Ctx::Title),
    ("monsieur", Ctx::Title),
    ("madame", Ctx::Title),
    ("sr.", Ctx::Title),
    ("sra.", Ctx::Title),
    ("señor", Ctx::Title),
    ("señora", Ctx::Title),
    // Not PII
    ("order", Ctx::NotPii),
    ("order number", Ctx::NotPii),
    ("order no", Ctx::NotPii),
    ("tracking", Ctx::NotPii),
    ("shipped via", Ctx::NotPii),
    ("courier says", Ctx::NotPii),
    ("invoice", Ctx::NotPii),
    ("ticket", Ctx::NotPii),
    ("ticket created", Ctx::NotPii),
    ("customer id", Ctx::NotPii),
    ("internal", Ctx::NotPii),
    ("reference", Ctx::NotPii),
    ("ref", Ctx::NotPii),
    ("sku", Ctx::NotPii),
    ("version", Ctx::NotPii),
    ("update to", Ctx::NotPii),
    ("build", Ctx::NotPii),
    ("release", Ctx::NotPii),
    ("total", Ctx::NotPii),
    ("total due", Ctx::NotPii),
    ("refund", Ctx::NotPii),
    ("amount", Ctx::NotPii),
    ("sample", Ctx::NotPii),
    ("code", Ctx::NotPii),
    ("correlation id", Ctx::NotPii),
    ("request id", Ctx::NotPii),
    ("sha", Ctx::NotPii),
    ("订单号", Ctx::NotPii),
    ("商品编号", Ctx::NotPii),
    ("编号", Ctx::NotPii),
    ("单号", Ctx::NotPii),
    ("快递单号", Ctx::NotPii),
    ("bestellnummer", Ctx::NotPii),
    ("commande", Ctx::NotPii),
    ("pedido", Ctx::NotPii),
    // German tax id (de, en)
    ("steuer-id", Ctx::DeTaxId),
    ("steuerid", Ctx::DeTaxId),
    ("steuer-idnr", Ctx::DeTaxId),
    ("steuer-idnr.", Ctx::DeTaxId),
    ("steuer-identifikationsnummer", Ctx::DeTaxId),
    ("steueridentifikationsnummer", Ctx::DeTaxId),
    ("steuerliche identifikationsnummer", Ctx::DeTaxId),
    ("identifikationsnummer", Ctx::DeTaxId),
    ("idnr", Ctx::DeTaxId),
    ("idnr.", Ctx::DeTaxId),
    ("steuernummer", Ctx::DeTaxId),
    ("tax id", Ctx::DeTaxId),
    ("tax identification number", Ctx::DeTaxId),
    ("tin", Ctx::DeTaxId),
    // German identity card (de, en, fr)
    ("personalausweis", Ctx::DeIdCard),
    ("personalausweisnummer", Ctx::DeIdCard),
    ("ausweis", Ctx::DeIdCard),
    ("ausweisnummer", Ctx::DeIdCard),
    ("ausweis-nr", Ctx::DeIdCard),
    ("ausweis-nr.", Ctx::DeIdCard),
    ("ausweisnr", Ctx::DeIdCard),
    ("id card", Ctx::DeIdCard),
    ("identity card", Ctx::DeIdCard),
    ("id-karte", Ctx::DeIdCard),
    ("carte d'identité", Ctx::DeIdCard),
    // French NIR (fr, en)
    ("nir", Ctx::FrNir),
    ("insee", Ctx::FrNir),
    ("numéro insee", Ctx::FrNir),
    ("sécurité sociale", Ctx::FrNir),
    ("securite sociale", Ctx::FrNir),
    ("numéro de sécurité sociale", Ctx::FrNir),
    ("numero de securite sociale", Ctx::FrNir),
    ("n° de sécurité sociale", Ctx::FrNir),
    ("sécu", Ctx::FrNir),
    ("secu", Ctx::FrNir),
    ("carte vitale", Ctx::FrNir),
    ("french social security", Ctx::FrNir),
    // Spanish DNI / NIE (es, en)
    ("dni", Ctx::EsDni),
    ("d.n.i.", Ctx::EsDni),
    ("nie", Ctx::EsDni),
    ("n.i.e.", Ctx::EsDni),
    ("nif", Ctx::EsDni),
    ("documento nacional de identidad", Ctx::EsDni),
    ("documento de identidad", Ctx::EsDni),
    ("número de identidad", Ctx::EsDni),
    ("numero de identidad", Ctx::EsDni),
    ("número de extranjero", Ctx::EsDni),
    ("spanish id", Ctx::EsDni),
    // Italian fiscal code (it, en)
    ("codice fiscale", Ctx::ItFiscal),
    ("cod. fiscale", Ctx::ItFiscal),
    ("cod. fisc.", Ctx::ItFiscal),
    ("c.f.", Ctx::ItFiscal),
    ("cf", Ctx::ItFiscal),
    ("fiscal code", Ctx::ItFiscal),
    ("tax code", Ctx::ItFiscal),
    // Dutch BSN (nl, en)
    ("bsn", Ctx::NlBsn),
    ("bsn-nummer", Ctx::NlBsn),
    ("bsn nummer", Ctx::NlBsn),
    ("burgerservicenummer", Ctx::NlBsn),
    ("sofinummer", Ctx::NlBsn),
    ("sofi-nummer", Ctx::NlBsn),
    ("sofi nummer", Ctx::NlBsn),
    ("citizen service number", Ctx::NlBsn),
    // MAC addresses (en, de, fr, es, it, nl)
    ("mac", Ctx::Mac),
    ("mac address", Ctx::Mac),
    ("mac-adresse", Ctx::Mac),
    ("mac-adres", Ctx::Mac),
    ("adresse mac", Ctx::Mac),
    ("dirección mac", Ctx::Mac),
    ("indirizzo mac", Ctx::Mac),
    ("hardware address", Ctx::Mac),
    ("hwaddr", Ctx::Mac),
    ("bssid", Ctx::Mac),
    ("ether", Ctx::Mac),
    // Wallets (en, de, fr, es, it, nl)
    ("bitcoin", Ctx::Crypto),
    ("btc", Ctx::Crypto),
    ("ethereum", Ctx::Crypto),
    ("eth", Ctx::Crypto),
    ("wallet", Ctx::Crypto),
    ("wallet address", Ctx::Crypto),
    ("krypto-wallet", Ctx::Crypto),
    ("adresse de portefeuille", Ctx::Crypto),
    ("portefeuille", Ctx::Crypto),
    ("billetera", Ctx::Crypto),
    ("monedero", Ctx::Crypto),
    ("portafoglio", Ctx::Crypto),
    ("portemonnee", Ctx::Crypto),
];

/// A cue found in the text.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    /// Byte offset where the cue starts.
    pub start: usize,
    /// Byte offset one past the cue.
    pub end: usize,
    /// What the cue hints at.
    pub kind: Ctx,
}

/// The compiled cue automaton.
pub struct Context {
    ac: AhoCorasick,
    /// Every occurrence of every cue, from which [`CueCache`] answers window look-ups.
    index: CueIndex,
    kinds: Vec<Ctx>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("cues", &self.kinds.len())
            .finish()
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Clamps `pos` down to a char boundary of `text`.
pub fn floor_boundary(text: &str, mut pos: usize) -> usize {
    if pos >= text.len() {
        return text.len();
    }
    while pos > 0 && !text.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

/// Clamps `pos` up to a char boundary of `text`.
pub fn ceil_boundary(text: &str, mut pos: usize) -> usize {
    if pos >= text.len() {
        return text.len();
    }
    while pos < text.len() && !text.is_char_boundary(pos) {
        pos += 1;
    }
    pos
}

impl Context {
    /// Builds an automaton over only the cues of `kinds` (small, so its prefilter stays fast
    /// enough for a whole-text pass).
    pub fn with_kinds(kinds: &[Ctx]) -> Result<Context, aho_corasick::BuildError> {
        let cues: Vec<(&str, Ctx)> = CUES
            .iter()
            .copied()
            .filter(|(_, k)| kinds.contains(k))
            .collect();
        // A full DFA: a third faster than the default NFA on cue-rich text.
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(cues.iter().map(|(w, _)| *w))?;
        Ok(Context {
            ac,
            index: CueIndex::new(cues.iter().map(|(w, _)| *w)),
            kinds: cues.iter().map(|(_, k)| *k).collect(),
        })
    }

    /// Builds the automaton over every cue (tests; recognizers use [`Context::with_kinds`]).
    #[cfg(test)]
    pub fn new() -> Result<Context, aho_corasick::BuildError> {
        // Matched against an ASCII-lower-cased copy of the text (same offsets), so the automaton
        // is case-sensitive and keeps its fast prefilters.
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(CUES.iter().map(|(w, _)| *w))?;
        Ok(Context {
            ac,
            index: CueIndex::new(CUES.iter().map(|(w, _)| *w)),
            kinds: CUES.iter().map(|(_, k)| *k).collect(),
        })
    }

    /// Cues inside `text[lo..hi]` (absolute offsets), with ASCII word boundaries enforced on cues
    /// that begin or end with an ASCII letter or digit. `text` must be ASCII-lower-cased. (The
    /// reference the anchored searches are tested against.)
    #[cfg(test)]
    pub fn hits(&self, text: &str, lo: usize, hi: usize) -> Vec<Hit> {
        self.iter_hits(text, lo, hi).collect()
    }

    /// Like [`Context::hits`], without collecting.
    fn iter_hits<'t>(
        &'t self,
        text: &'t str,
        lo: usize,
        hi: usize,
    ) -> impl Iterator<Item = Hit> + 't {
        let lo = floor_boundary(text, lo);
        let hi = ceil_boundary(text, hi.max(lo));
        let b = text.as_bytes();
        self.ac.find_iter(&text[lo..hi]).filter_map(move |m| {
            let (s, e) = (lo + m.start(), lo + m.end());
            if is_word_byte(b[s]) && s > 0 && is_word_byte(b[s - 1]) {
                return None;
            }
            if is_word_byte(b[e - 1]) && e < b.len() && is_word_byte(b[e]) {
                return None;
            }
            Some(Hit {
                start: s,
                end: e,
                kind: self.kinds[m.pattern().as_usize()],
            })
        })
    }

    /// The nearest cue ending at or before `pos`, looking back at most `window` bytes.
    pub fn nearest_before(&self, text: &str, pos: usize, window: usize) -> Option<Hit> {
        self.iter_hits(text, pos.saturating_sub(window), pos)
            .filter(|h| h.end <= pos)
            .last()
    }

    /// The nearest cue of one of `kinds` ending at or before `pos`, within `window` bytes.
    pub fn kind_before(&self, text: &str, pos: usize, window: usize, kinds: &[Ctx]) -> Option<Hit> {
        self.iter_hits(text, pos.saturating_sub(window), pos)
            .filter(|h| kinds.contains(&h.kind))
            .last()
    }

    /// The first cue of one of `kinds` starting at or after `pos`, within `window` bytes.
    pub fn kind_after(&self, text: &str, pos: usize, window: usize, kinds: &[Ctx]) -> Option<Hit> {
        self.iter_hits(text, pos, pos + window)
            .find(|h| kinds.contains(&h.kind))
    }

    /// Every cue of one of `kinds` in the whole text (the reference the anchored searches are
    /// tested against).
    #[cfg(test)]
    pub fn all_of(&self, text: &str, kinds: &[Ctx]) -> Vec<Hit> {
        let mut v = self.hits(text, 0, text.len());
        v.retain(|h| kinds.contains(&h.kind));
        v
    }
}

/// Bytes per block of [`CueCache`]: cue windows are 24 to 64 bytes, so a look-up searches two or
/// three blocks at first, about what the windowed search would have, and text far from any
/// candidate is never searched. 32 rather than 64: on dense text the windows leave gaps that
/// 64-byte blocks searched anyway (dense 1 KB: 1.1K fewer instructions per call; 16 bytes cost
/// more in per-block look-up work than it saves).
const CACHE_BLOCK: usize = 32;

/// Finds every occurrence of every cue (overlapping, unlike the leftmost-longest automaton).
///
/// Each cue is filed under the first three bytes it starts with (a two-byte cue under every
/// third byte), hashed. A position's three bytes, hashed, are looked up in a bit filter that
/// stays in L1 (8 KB) and rejects most positions with one test; at a position that passes, the
/// cues of its bucket whose key is exactly its three bytes are compared in place. On cue-dense
/// text this is several times faster than walking a dense automaton, whose transition table does
/// not fit in L1 and whose every step waits on the previous one: the positions here are
/// independent of each other.
#[derive(Debug)]
struct CueIndex {
    cues: Vec<Vec<u8>>,
    /// The filter: a bit per `hash3` value.
    filter: Box<[u64; 1 << 10]>,
    /// Per `hash3 >> BUCKET_SHIFT`: the range of `entries` filed there.
    buckets: Vec<(u32, u32)>,
    /// The cues filed under each key, by bucket, then key, then longest first, then by cue (the
    /// order occurrences at one position are reported in).
    entries: Vec<Entry>,
}

/// One cue filed under one three-byte key, with its first eight bytes packed for a one-word
/// comparison.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The key (the cue's first three bytes; for a two-byte cue, those and one third byte).
    key: u32,
    /// The cue's length.
    len: u32,
    /// The cue's index.
    cue: usize,
    /// The cue's first (up to) eight bytes, little-endian.
    head: u64,
    /// The bits of `head` that belong to the cue.
    mask: u64,
}

/// Up to eight bytes from the start of `w`, little-endian, zero-padded.
fn word8(w: &[u8]) -> u64 {
    match w.get(..8) {
        Some(x) => u64::from_le_bytes(x.try_into().expect("eight bytes")),
        None => {
            let mut t = [0u8; 8];
            t[..w.len()].copy_from_slice(w);
            u64::from_le_bytes(t)
        }
    }
}

/// Buckets hold the cues of `2^BUCKET_SHIFT` filter bits.
const BUCKET_SHIFT: usize = 4;

fn key3(b: &[u8]) -> u32 {
    u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16
}

/// The filter hash of the three bytes in the low 24 bits of `w` (its top byte is ignored: bits
/// 8 to 23 of a product depend only on bits 0 to 23 of its factors, so a four-byte load needs no
/// masking).
fn hash3(w: u32) -> usize {
    // Below 2^16: filter indexes need no bounds check.
    (w.wrapping_mul(0x9E37_79B1) >> 8) as usize & 0xFFFF
}

impl CueIndex {
    fn new<'c>(cues: impl Iterator<Item = &'c str>) -> CueIndex {
        let cues: Vec<Vec<u8>> = cues.map(|c| c.as_bytes().to_vec()).collect();
        let mut entries = Vec::new();
        for (i, c) in cues.iter().enumerate() {
            // Cues have two bytes at least (an empty or one-byte cue would need another path).
            assert!(c.len() >= 2, "cue too short");
            if c.len() >= 3 {
                entries.push((key3(c), i));
            } else {
                let k = u32::from(c[0]) | u32::from(c[1]) << 8;
                entries.extend((0..=255u32).map(|z| (k | z << 16, i)));
            }
        }
        entries.sort_by(|x, y| {
            (hash3(x.0) >> BUCKET_SHIFT)
                .cmp(&(hash3(y.0) >> BUCKET_SHIFT))
                .then(x.0.cmp(&y.0))
                .then(cues[y.1].len().cmp(&cues[x.1].len()))
                .then(x.1.cmp(&y.1))
        });
        let entries: Vec<Entry> = entries
            .into_iter()
            .map(|(key, cue)| {
                let c = &cues[cue];
                let n = c.len().min(8);
                Entry {
                    key,
                    len: c.len() as u32,
                    cue,
                    head: word8(&c[..n]),
                    mask: u64::MAX >> (64 - 8 * n),
                }
            })
            .collect();
        let mut filter = Box::new([0u64; 1 << 10]);
        let mut buckets = vec![(0u32, 0u32); 1 << (16 - BUCKET_SHIFT)];
        for (n, &Entry { key: k, .. }) in entries.iter().enumerate() {
            let h = hash3(k);
            filter[h >> 6] |= 1 << (h & 63);
            let b = &mut buckets[h >> BUCKET_SHIFT];
            if b.0 == b.1 {
                b.0 = n as u32;
            }
            b.1 = n as u32 + 1;
        }
        CueIndex {
            cues,
            filter,
            buckets,
            entries,
        }
    }

    /// Appends every cue occurrence starting in `b[bs..be]` (`be - bs <= CACHE_BLOCK`), by
    /// start, then longest first, then by cue.
    fn occurrences(&self, b: &[u8], bs: usize, be: usize, out: &mut Vec<Occ>) {
        // The block and the bytes after it, zero-padded past the text's end, as one fixed-size
        // array: every position's key is one four-byte load with no bounds check, and the loop
        // has a constant trip count. A padded key (a position within two bytes of the end) has a
        // zero byte where the text has none: no cue contains one, and two-byte cues are filed
        // under every third byte (zero too), so such positions pass or fail as they should, and
        // `verify` compares the real text.
        let mut pad = [0u8; CACHE_BLOCK + 3];
        let w: &[u8; CACHE_BLOCK + 3] = match b.get(bs..bs + CACHE_BLOCK + 3) {
            Some(x) => x.try_into().expect("block window"),
            None => {
                let x = &b[bs..];
                pad[..x.len()].copy_from_slice(x);
                &pad
            }
        };
        // Four positions per step, unrolled; positions past `be` (a short last block) are left
        // to `verify` to drop, off the common path.
        for c in 0..CACHE_BLOCK / 4 {
            for d in 0..4 {
                let i = 4 * c + d;
                let k = u32::from_le_bytes([w[i], w[i + 1], w[i + 2], w[i + 3]]);
                let h = hash3(k);
                if self.filter[h >> 6] >> (h & 63) & 1 != 0 {
                    self.verify(b, bs + i, be, k & 0xFF_FFFF, out);
                }
            }
        }
    }

    /// Appends the cues starting at `i` whose key is `k` (the three bytes there), longest first;
    /// nothing if `i` is not below `be`.
    #[inline(never)]
    fn verify(&self, b: &[u8], i: usize, be: usize, k: u32, out: &mut Vec<Occ>) {
        if i >= be {
            return;
        }
        let w = &b[i..];
        let head = word8(w);
        let (lo, hi) = self.buckets[hash3(k) >> BUCKET_SHIFT];
        for e in &self.entries[lo as usize..hi as usize] {
            let len = e.len as usize;
            // The first eight bytes in one comparison, the rest (long cues) as a slice.
            if e.key == k
                && head & e.mask == e.head
                && w.len() >= len
                && (len <= 8 || w[8..len] == self.cues[e.cue][8..])
            {
                out.push(Occ {
                    start: i,
                    end: i + len,
                    pattern: e.cue,
                });
            }
        }
    }
}

/// Every occurrence of a cue starting in a block (see [`CueCache`]).
#[derive(Debug, Clone, Copy)]
struct Occ {
    start: usize,
    end: usize,
    pattern: usize,
}

/// Per-call memo of one [`Context`]'s cue occurrences, so that the window look-ups
/// ([`CueCache::kind_before`], [`CueCache::kind_after`], [`CueCache::nearest_before`]) of
/// candidates close together (dense text: windows of 40-56 bytes before every number) do not
/// each run the automaton again.
///
/// The text is cut into blocks of [`CACHE_BLOCK`] bytes, each searched once, on first use, for
/// every occurrence of every cue starting in it (an overlapping search). A look-up then replays
/// the leftmost-longest search of its window over the occurrences inside it: from the window's
/// start, the leftmost occurrence that ends inside the window, the longest of those starting
/// there (the first cue among equals), then on from its end. That is what the automaton finds in
/// the window, so each look-up answers exactly as [`Context::kind_before`] and its siblings do
/// (property-tested against them).
#[derive(Debug, Default)]
pub struct CueCache {
    inner: RefCell<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    /// Per block: the range of `occ` holding its occurrences, or `None` if not searched yet.
    blocks: Vec<Option<(usize, usize)>>,
    /// Occurrences, each block's sorted by start, then longest first, then pattern.
    occ: Vec<Occ>,
}

impl CueCache {
    /// The cue hits of `ctx` in `text[lo..hi]`, as [`Context::iter_hits`] gives them, passed to
    /// `f` in order until it returns `false`.
    fn for_hits(
        &self,
        ctx: &Context,
        text: &str,
        lo: usize,
        hi: usize,
        mut f: impl FnMut(Hit) -> bool,
    ) {
        let lo = floor_boundary(text, lo);
        let hi = ceil_boundary(text, hi.max(lo));
        if lo >= hi {
            return;
        }
        let b = text.as_bytes();
        let mut inner = self.inner.borrow_mut();
        let (j0, j1) = (lo / CACHE_BLOCK, (hi - 1) / CACHE_BLOCK);
        if inner.blocks.len() <= j1 {
            let n = b.len().div_ceil(CACHE_BLOCK);
            inner.blocks.resize(n, None);
            // Cue-dense text has an occurrence every 40 bytes or so: room up front.
            let room = b.len() / 32 + 8;
            inner.occ.reserve(room);
        }
        for j in j0..=j1 {
            if inner.blocks[j].is_none() {
                inner.fill(ctx, b, j);
            }
        }
        let inner = &*inner;
        let mut cur = lo;
        for j in j0..=j1 {
            let (s, e) = inner.blocks[j].unwrap_or((0, 0));
            for o in &inner.occ[s..e] {
                let (s, e) = (o.start, o.end);
                if s >= hi {
                    return;
                }
                if s < cur || e > hi {
                    continue;
                }
                cur = e;
                if is_word_byte(b[s]) && s > 0 && is_word_byte(b[s - 1]) {
                    continue;
                }
                if is_word_byte(b[e - 1]) && e < b.len() && is_word_byte(b[e]) {
                    continue;
                }
                let hit = Hit {
                    start: s,
                    end: e,
                    kind: ctx.kinds[o.pattern],
                };
                if !f(hit) {
                    return;
                }
            }
        }
    }

    /// [`Context::kind_before`], from the memo.
    pub fn kind_before(
        &self,
        ctx: &Context,
        text: &str,
        pos: usize,
        window: usize,
        kinds: &[Ctx],
    ) -> Option<Hit> {
        self.last_before(ctx, text, pos, window, |h| kinds.contains(&h.kind))
    }

    /// [`Context::nearest_before`], from the memo.
    pub fn nearest_before(
        &self,
        ctx: &Context,
        text: &str,
        pos: usize,
        window: usize,
    ) -> Option<Hit> {
        self.last_before(ctx, text, pos, window, |h| h.end <= pos)
    }

    /// The last hit in the `window` bytes before `pos` that `keep` accepts.
    fn last_before(
        &self,
        ctx: &Context,
        text: &str,
        pos: usize,
        window: usize,
        keep: impl Fn(&Hit) -> bool,
    ) -> Option<Hit> {
        let mut last = None;
        self.for_hits(ctx, text, pos.saturating_sub(window), pos, |h| {
            if keep(&h) {
                last = Some(h);
            }
            true
        });
        last
    }

    /// [`Context::kind_after`], from the memo.
    pub fn kind_after(
        &self,
        ctx: &Context,
        text: &str,
        pos: usize,
        window: usize,
        kinds: &[Ctx],
    ) -> Option<Hit> {
        let mut first = None;
        self.for_hits(ctx, text, pos, pos + window, |h| {
            if kinds.contains(&h.kind) {
                first = Some(h);
                return false;
            }
            true
        });
        first
    }
}

impl CacheInner {
    /// Searches block `j` of `b` for every cue occurrence starting in it.
    fn fill(&mut self, ctx: &Context, b: &[u8], j: usize) {
        let bs = j * CACHE_BLOCK;
        let be = (bs + CACHE_BLOCK).min(b.len());
        let first = self.occ.len();
        ctx.index.occurrences(b, bs, be, &mut self.occ);
        self.blocks[j] = Some((first, self.occ.len()));
    }
}

/// The cues of some kinds in a text, found from anchors (literals every one of them holds, found
/// by one literal search, see `anchors`): each cue is compared in place where its anchor
/// occurs, and the cue automaton's leftmost-longest search is replayed over those occurrences.
/// That is what [`Context::hits`] reports, without the automaton: run around the anchors, it
/// started a search (and its prefilter) per anchor for a few dozen bytes, and run over a whole
/// text its prefilter stopped at most bytes of cue-rich text.
#[derive(Debug)]
pub struct AnchoredCues {
    /// Per anchor (index in its list): each cue holding it.
    at_anchor: Vec<Vec<Filed>>,
}

/// A cue filed under one occurrence of an anchor in it.
#[derive(Debug, Clone, Copy)]
struct Filed {
    /// The cue.
    cue: &'static [u8],
    /// Where the anchor starts in the cue.
    off: usize,
    /// The cue's kind.
    kind: Ctx,
    /// Its place among the set's cues (the automaton's pattern order).
    order: usize,
}

impl AnchoredCues {
    /// Files every cue of `kinds` under each occurrence of each of `anchors` in it. Every cue
    /// must hold an anchor (checked by the tests of each list).
    pub fn new(kinds: &[Ctx], anchors: &[&str]) -> AnchoredCues {
        let at_anchor = anchors
            .iter()
            .map(|a| {
                CUES.iter()
                    .filter(|(_, k)| kinds.contains(k))
                    .enumerate()
                    .flat_map(|(order, &(c, kind))| {
                        c.match_indices(a).map(move |(off, _)| Filed {
                            cue: c.as_bytes(),
                            off,
                            kind,
                            order,
                        })
                    })
                    .collect()
            })
            .collect();
        AnchoredCues { at_anchor }
    }

    /// The cues inside `lower[lo..hi]` (`lower`: the ASCII-lower-cased text), appended to `out`
    /// in order, as an automaton over the cues of this set's kinds reports them
    /// ([`Context::hits`]: leftmost-longest, then the ASCII word-boundary checks, which look at
    /// the bytes outside the range). `anchors`: `(position, index in the anchor list)` of every
    /// occurrence of every anchor inside the range.
    pub fn hits_in(
        &self,
        lower: &[u8],
        lo: usize,
        hi: usize,
        anchors: impl IntoIterator<Item = (usize, usize)>,
        out: &mut Vec<Hit>,
    ) {
        // Every occurrence of every cue: each holds an anchor occurrence at its offset.
        let mut occ: Vec<(usize, usize, Ctx, usize)> = Vec::new();
        for (pos, index) in anchors {
            for &Filed {
                cue,
                off,
                kind,
                order,
            } in &self.at_anchor[index]
            {
                let Some(s) = pos.checked_sub(off) else {
                    continue;
                };
                if s >= lo && s + cue.len() <= hi && &lower[s..s + cue.len()] == cue {
                    occ.push((s, s + cue.len(), kind, order));
                }
            }
        }
        if occ.is_empty() {
            return;
        }
        // Leftmost first, longest first among those starting together, then the first pattern
        // (a cue holding two anchors was found twice).
        occ.sort_unstable_by(|x, y| x.0.cmp(&y.0).then(y.1.cmp(&x.1)).then(x.3.cmp(&y.3)));
        let mut cur = lo;
        for (s, e, kind, _) in occ {
            if s < cur {
                continue;
            }
            cur = e;
            if is_word_byte(lower[s]) && s > 0 && is_word_byte(lower[s - 1])
                || is_word_byte(lower[e - 1]) && e < lower.len() && is_word_byte(lower[e])
            {
                continue;
            }
            out.push(Hit {
                start: s,
                end: e,
                kind,
            });
        }
    }

    /// The cues in the whole of `lower`, in order ([`Context::all_of`]). `anchors`: every
    /// occurrence of every anchor in `lower`, by position (`Anchors::find` of the cues' group).
    pub fn find<'h>(
        &self,
        lower: &[u8],
        anchors: impl IntoIterator<Item = &'h super::anchors::AnchorHit>,
    ) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.hits_in(
            lower,
            0,
            lower.len(),
            anchors.into_iter().map(|h| (h.pos, h.index)),
            &mut hits,
        );
        hits
    }
}

/// Every passport cue contains one of these (see [`AnchoredCues`]).
pub const PASSPORT_ANCHORS: &[&str] = &["pas", "护照"];

/// Every birth cue contains one of these (see [`AnchoredCues`]): rarer in running text
/// than the cues' own first bytes (`d`, `b`, `n`, `f`), which kept the automaton's prefilter
/// stopping at `data`, `update`, `before`.
pub const BIRTH_ANCHORS: &[&str] = &[
    "born", "dob", "d.o.b", "birth", "geb", "né", "naiss", "nac", "cumple", "生",
];

/// The cue words of `kinds` (tests of recognizers that search around their own anchors).
#[cfg(test)]
pub fn cue_words(kinds: &[Ctx]) -> Vec<&'static str> {
    CUES.iter()
        .filter(|(_, k)| kinds.contains(k))
        .map(|(w, _)| *w)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_boundaries() {
        let c = Context::new().unwrap();
        let t = "call the hotel: phone 123";
        let hits = c.hits(t, 0, t.len());
        assert!(hits
            .iter()
            .any(|h| h.kind == Ctx::Phone && &t[h.start..h.end] == "phone"));
        assert!(!hits.iter().any(|h| &t[h.start..h.end] == "tel"));
    }

    #[test]
    fn nearest_cjk() {
        let c = Context::new().unwrap();
        let t = "你好，电话13812345678";
        let h = c.nearest_before(t, t.find('1').unwrap(), 30).unwrap();
        assert_eq!(h.kind, Ctx::Phone);
    }

    /// Every cue of `kind` holds one of `anchors` (what [`AnchoredCues`] relies on).
    fn assert_cues_hold(kind: Ctx, anchors: &[&str]) {
        for (cue, _) in CUES.iter().filter(|(_, k)| *k == kind) {
            assert!(
                anchors.iter().any(|a| cue.contains(a)),
                "{kind:?} cue {cue:?} holds no anchor"
            );
        }
    }

    #[test]
    fn birth_cues_hold_their_anchors() {
        assert_cues_hold(Ctx::Birth, BIRTH_ANCHORS);
    }

    #[test]
    fn passport_cues_hold_their_anchors() {
        assert_cues_hold(Ctx::Passport, PASSPORT_ANCHORS);
    }

    /// Cue spans, `(start, end)`.
    type Spans = Vec<(usize, usize)>;

    /// The cues of `kind` in `s` from [`AnchoredCues`] at `group`'s anchor hits, and from
    /// [`Context::all_of`] (the whole-text search), as `(start, end)`.
    fn anchored_and_all(
        s: &str,
        kind: Ctx,
        group: crate::detect::anchors::Group,
        anchors: &[&str],
    ) -> (Spans, Spans) {
        let c = Context::with_kinds(&[kind]).unwrap();
        let lower = s.to_ascii_lowercase();
        let all: Vec<_> = c
            .all_of(&lower, &[kind])
            .iter()
            .map(|h| (h.start, h.end))
            .collect();
        let hits = crate::detect::anchors::Anchors::new(&[group]).find(lower.as_bytes());
        let got = AnchoredCues::new(&[kind], anchors)
            .find(lower.as_bytes(), &hits)
            .iter()
            .map(|h| (h.start, h.end))
            .collect();
        (got, all)
    }

    #[test]
    fn anchored_cue_examples() {
        use crate::detect::anchors::Group;
        for s in [
            "Passport number: X1, passport no. 2, pass-nr 3, reisepassnummer, passeport, pasaporte",
            "护照号码E1234 护照号 护照, passports, bypass, compass port, pas de passeport",
            "DOB: 14/02/1983, date of birth date, birthdate, unborn, d.o.b.x",
            "出生于1980 出生日期 生日 出生年月 生于 née le, geb. geboren",
        ] {
            let (got, want) = anchored_and_all(s, Ctx::Passport, Group::Passport, PASSPORT_ANCHORS);
            assert_eq!(got, want, "{s}");
            let passports = want.len();
            let (got, want) = anchored_and_all(s, Ctx::Birth, Group::Birth, BIRTH_ANCHORS);
            assert_eq!(got, want, "{s}");
            // Each example holds cues of one kind or the other.
            assert!(passports + want.len() > 0, "{s}");
        }
    }

    proptest::proptest! {
        /// Passport cues compared at their anchors are the whole-text search's.
        #[test]
        fn anchored_passport_cues_are_all_of(s in "(passport|pass|pas|reisepass|nummer| number| no|-nr|eport|aporte|护照|号码|号| |x|1){0,40}") {
            let (got, want) = anchored_and_all(&s, Ctx::Passport, crate::detect::anchors::Group::Passport, PASSPORT_ANCHORS);
            proptest::prop_assert_eq!(got, want);
        }

        /// In a range, with both kinds in one set, the cues are the automaton's in that range.
        #[test]
        fn anchored_cues_in_a_range_are_hits(
            s in "(passport|pas|reisepass| no|护照|号码|dob|born|birth|geb\\.|né|出生|生日| |x|1|é){0,30}",
            cut in (0usize..400, 0usize..400),
        ) {
            let kinds = [Ctx::Passport, Ctx::Birth];
            let c = Context::with_kinds(&kinds).unwrap();
            let lower = s.to_ascii_lowercase();
            let lo = floor_boundary(&lower, cut.0.min(cut.1));
            let hi = ceil_boundary(&lower, cut.0.max(cut.1));
            let want: Vec<_> = c.hits(&lower, lo, hi).iter().map(|h| (h.start, h.end, h.kind)).collect();
            let both: Vec<&str> = PASSPORT_ANCHORS.iter().chain(BIRTH_ANCHORS).copied().collect();
            let hits = crate::detect::anchors::Anchors::new(&[
                crate::detect::anchors::Group::Passport,
                crate::detect::anchors::Group::Birth,
            ])
            .find(lower.as_bytes());
            // Anchor indexes into `both`: birth anchors follow the passport ones.
            let anchors = hits.iter().filter(|h| h.pos >= lo && h.pos < hi).map(|h| {
                let base = if h.group == crate::detect::anchors::Group::Birth { PASSPORT_ANCHORS.len() } else { 0 };
                (h.pos, base + h.index)
            });
            let mut got = Vec::new();
            AnchoredCues::new(&kinds, &both).hits_in(lower.as_bytes(), lo, hi, anchors, &mut got);
            let got: Vec<_> = got.iter().map(|h| (h.start, h.end, h.kind)).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    fn same_hit(a: Option<Hit>, b: Option<Hit>) -> bool {
        a.map(|h| (h.start, h.end, h.kind)) == b.map(|h| (h.start, h.end, h.kind))
    }

    /// Every window look-up of `c` on `text`, directly and from one memo (queried in a scrambled
    /// order, so blocks fill out of order).
    fn cache_is_direct(c: &Context, text: &str, kinds: &[Ctx]) {
        let cache = CueCache::default();
        let n = text.len();
        let mut positions: Vec<usize> = (0..=n + 2).collect();
        positions.sort_by_key(|&p| (p * 7919) % (n + 3));
        for p in positions {
            for w in [4, 24, 40, 44, 48, 56, 64, 300] {
                assert!(
                    same_hit(
                        cache.kind_before(c, text, p, w, kinds),
                        c.kind_before(text, p, w, kinds)
                    ),
                    "kind_before {p} {w} {text:?}"
                );
                assert!(
                    same_hit(
                        cache.nearest_before(c, text, p, w),
                        c.nearest_before(text, p, w)
                    ),
                    "nearest_before {p} {w} {text:?}"
                );
                assert!(
                    same_hit(
                        cache.kind_after(c, text, p, w, kinds),
                        c.kind_after(text, p, w, kinds)
                    ),
                    "kind_after {p} {w} {text:?}"
                );
            }
        }
    }

    proptest::proptest! {
        /// The memo answers every window look-up as the windowed automaton search does: cues
        /// cut by the window's edges, cues inside longer cues, duplicates ("contact" is a phone
        /// and a name cue), word boundaries, multi-byte text, block edges, NUL bytes and cues at
        /// the text's end (the block search zero-pads past it).
        #[test]
        fn cue_cache_is_the_windowed_search(
            parts in proptest::collection::vec(
                "(phone|phone number|tel|tel\\.|telephone|call me|contact|cc|card|credit card to|ssn|social security number|passport no|pass|dob|d\\.o\\.b\\.|date of birth|birth date|né le|née|nací|ip address|ip|order no|ref|code|iban|account|电话号码|电话|出生日期|生于|护照号|x|1|a| |\\.|:|é|\\x00){1,3}",
                0..160,
            ),
            which in 0usize..3,
        ) {
            let text: String = parts.concat();
            let (c, kinds): (Context, &[Ctx]) = match which {
                0 => (
                    Context::with_kinds(&[
                        Ctx::Ip, Ctx::Phone, Ctx::Card, Ctx::Ssn, Ctx::Passport, Ctx::Nino,
                        Ctx::Bank, Ctx::NotPii, Ctx::Birth,
                    ]).unwrap(),
                    &[Ctx::Phone, Ctx::Birth],
                ),
                1 => (Context::with_kinds(&[Ctx::Phone, Ctx::Name, Ctx::Address]).unwrap(), &[Ctx::Name]),
                _ => (Context::new().unwrap(), &[Ctx::Card, Ctx::Passport]),
            };
            cache_is_direct(&c, &text, kinds);
        }
    }

    #[test]
    fn window_is_char_safe() {
        let c = Context::new().unwrap();
        let t = "电话电话电话";
        for p in 0..=t.len() {
            let _ = c.nearest_before(t, p, 4);
            let _ = c.kind_after(t, p, 5, &[Ctx::Phone]);
        }
    }
}

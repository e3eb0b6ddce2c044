//! The simulated item writer: one visibly synthetic EPPP-shaped item per brief entry, deterministic from
//! (seed, brief variation, position), of realistic size (about 250-380 output tokens), with two habits of real
//! models for the generator to fix: the key sits at option B about 80% of the time (the in-code shuffle fixes it),
//! and the key is the strictly longest option in about half the items (the answer-length cue), falling to three
//! items in ten (a request partly heeded, still above chance) when the brief asks for options of similar length.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::exam::Kn;
use crate::prompt::{ChunkBrief, DraftItem};

/// Share of items whose key sits at option B, as the old model tended to write.
const KEY_AT_B: f64 = 0.8;
/// Share of items whose key is the strictly longest option: models pad the right answer with qualifiers (the old
/// system's files had it in 20-87% of items).
pub(crate) const KEY_LONGEST: f64 = 0.5;
/// The same share when the brief asks for options of similar length: lower, yet still above the quarter an
/// unbiased writer gives, so exams still cross the limit now and then and the repair gets used.
pub(crate) const KEY_LONGEST_BALANCED: f64 = 0.3;
const DIFFICULTIES: [&str; 3] = ["easy", "medium", "hard"];

const POPULATIONS: [&str; 16] = [
    "A 34-year-old graduate student",
    "A 67-year-old retired teacher",
    "A 15-year-old referred by a school counselor",
    "A veteran returning to civilian work",
    "A recently immigrated parent of two",
    "A night-shift nurse",
    "A first-year college athlete",
    "A 45-year-old small-business owner",
    "A bilingual 9-year-old",
    "A couple in their fifties",
    "A 72-year-old widower",
    "A 28-year-old software engineer",
    "A foster parent of three",
    "A 19-year-old military recruit",
    "A 52-year-old factory supervisor",
    "A 41-year-old paramedic",
];

const SETTINGS: [&str; 12] = [
    "a community mental health center",
    "a university counseling service",
    "a rural primary-care clinic",
    "a hospital consultation-liaison service",
    "a private group practice",
    "a correctional facility",
    "a telehealth practice",
    "a school-based clinic",
    "a veterans' outpatient program",
    "an employee assistance program",
    "a pediatric neurology clinic",
    "a residential treatment program",
];

const SITUATIONS: [&str; 6] = [
    "The referral question turns on {topic}, and earlier notes disagree about what matters most.",
    "The psychologist must apply what is known about {topic} before recommending a plan.",
    "A supervisor asks how current findings on {topic} bear on the case.",
    "The treatment team's disagreement centers on {topic}.",
    "Family members give competing accounts that touch on {topic}.",
    "The case was chosen for a training seminar on {topic}.",
];

const DETAILS: [&str; 8] = [
    "Records from two informants conflict, and the timeline is unclear.",
    "Time is short, and a recommendation is due within two weeks.",
    "Cultural and language factors may shape how concerns are expressed.",
    "A prior evaluation reached a conclusion without documenting its basis.",
    "The client asks for a plain explanation of the options.",
    "Coverage allows only a brief course of services.",
    "A colleague suggests relying on a screening result alone.",
    "The client's goals differ from those of the referring agency.",
];

const QUESTIONS: [&str; 5] = [
    "Which statement is best supported by current evidence?",
    "Which conclusion should the psychologist draw at this point?",
    "Which principle should guide the psychologist's next step?",
    "Which option applies the research evidence most soundly?",
    "What is the most defensible reading of this case?",
];

const KEYS: [&str; 5] = [
    "Apply the best-established findings on {topic}, checked against this client's history",
    "Weigh the convergent evidence on {topic} over any single source, then confirm it with the client",
    "Integrate research on {topic} with the client's context before drawing a conclusion",
    "Use well-replicated findings on {topic} and state the limits of what they show here",
    "Base the judgment on validated knowledge of {topic}, adjusted for this client's circumstances",
];

/// Distractors and, at the same index, why each is wrong.
const DISTRACTORS: [(&str, &str); 8] = [
    ("Generalize from one striking case report in the literature to this client", "one case ignores base rates"),
    (
        "Treat a correlation reported in a single cross-sectional study as proof of cause",
        "correlation does not show cause",
    ),
    (
        "Adopt the view the referral source prefers, whatever the research evidence shows",
        "deference replaces evidence",
    ),
    ("Assume norms from a different population apply unchanged to this client", "norms may not transfer"),
    ("Postpone any judgment until every available test has been given", "exhaustive testing delays care"),
    (
        "Follow a popular-press account of the problem rather than peer-reviewed work",
        "popular accounts are unreliable",
    ),
    ("Rely on clinical intuition alone and set the published literature aside", "intuition alone is biased"),
    (
        "Use the oldest published model of the problem because it is the most familiar",
        "familiarity is not validity",
    ),
];

/// Qualifiers that lengthen the key until it is the strictly longest option.
const KEY_QUALIFIERS: [&str; 3] = [", and say why", ", noting its limits", ", with a supervisor"];

/// Qualifiers that lengthen a distractor until the key is no longer the longest option.
const DISTRACTOR_QUALIFIERS: [&str; 4] =
    [" regarding {topic}", ", without asking the client", ", as a colleague advised", ", and call it settled"];

const CLOSINGS: [&str; 3] = [
    "Recognizing the evidence-based choice is the core skill tested.",
    "Candidates must separate sound inference from common reasoning errors.",
    "The item requires weighing evidence quality against case details.",
];

/// The items for `brief`: one per entry, in order, each for the entry's KN.
pub(crate) fn write_items(seed: u64, brief: &ChunkBrief) -> Vec<DraftItem> {
    (brief.items.iter().enumerate())
        .map(|(position, &kn)| write_item(seed, brief.variation, position, kn, brief.balance_lengths))
        .collect()
}

/// One item, deterministic from (`seed`, `variation`, `position`) and written for `kn`; `balance` is the brief's
/// request for options of similar length.
pub(crate) fn write_item(seed: u64, variation: u64, position: usize, kn: Kn, balance: bool) -> DraftItem {
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, variation, position as u64));
    let topic = kn.topic();
    let fill = |template: &str| template.replace("{topic}", topic);
    let tag = format!("{kn}-v{variation}-{}", position + 1);
    let pick = |rng: &mut ChaCha8Rng, list: &[&'static str]| list[rng.random_range(0..list.len())];

    let question = format!(
        "[simulated] Case {tag}. {} is seen at {}. {} {} {}",
        pick(&mut rng, &POPULATIONS),
        pick(&mut rng, &SETTINGS),
        fill(pick(&mut rng, &SITUATIONS)),
        pick(&mut rng, &DETAILS),
        fill(pick(&mut rng, &QUESTIONS)),
    );
    let mut key = fill(pick(&mut rng, &KEYS));
    let mut wrong: Vec<usize> = (0..DISTRACTORS.len()).collect();
    wrong.shuffle(&mut rng);
    wrong.truncate(3);
    let mut options: Vec<String> = wrong.iter().map(|&i| DISTRACTORS[i].0.to_owned()).collect();
    let share = if balance { KEY_LONGEST_BALANCED } else { KEY_LONGEST };
    let longest = rng.random_bool(share);
    let padded = rng.random_range(0..options.len());
    set_key_length(&mut key, &mut options, padded, topic, longest);
    let key = format!("{key} ({tag})");
    let mut options: Vec<String> = options.into_iter().map(|o| format!("{o} ({tag})")).collect();
    let key_at = if rng.random_bool(KEY_AT_B) { 1 } else { [0, 2, 3][rng.random_range(0..3)] };
    options.insert(key_at, key.clone());
    let difficulty = pick(&mut rng, &DIFFICULTIES);
    let reasons: Vec<&str> = wrong.iter().map(|&i| DISTRACTORS[i].1).collect();
    let explanation = format!(
        "[simulated] The key applies the evidence on {topic} to this client. \
         The distractors fail: {}; {}; and {}. {}",
        reasons[0],
        reasons[1],
        reasons[2],
        pick(&mut rng, &CLOSINGS),
    );
    DraftItem {
        kn_id: kn.to_string(),
        question,
        options,
        correct_answer: key,
        explanation,
        difficulty: difficulty.to_owned(),
    }
}

/// Lengthens the key until it is strictly longer than every distractor (`longest`), or else the distractor at
/// `padded` until it is at least as long as the key, with qualifiers that keep the text plausible. Each step adds
/// characters, so both loops end.
fn set_key_length(key: &mut String, distractors: &mut [String], padded: usize, topic: &str, longest: bool) {
    let len = |s: &str| s.chars().count();
    if longest {
        let target = distractors.iter().map(|d| len(d)).max().unwrap_or(0);
        for qualifier in KEY_QUALIFIERS.iter().cycle() {
            if len(key) > target {
                break;
            }
            key.push_str(qualifier);
        }
    } else {
        let distractor = &mut distractors[padded];
        for qualifier in DISTRACTOR_QUALIFIERS.iter().cycle() {
            if len(distractor) >= len(key) {
                break;
            }
            distractor.push_str(&qualifier.replace("{topic}", topic));
        }
    }
}

/// Makes the key of `item` the strictly longest option (the `length_cue` fault: a model ignoring the request for
/// similar lengths), lengthening the key option and `correct_answer` together.
pub(crate) fn lengthen_key(item: &mut DraftItem) {
    let Some(at) = item.options.iter().position(|o| *o == item.correct_answer) else { return };
    let len = |s: &str| s.chars().count();
    let longest_other =
        item.options.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, o)| len(o)).max().unwrap_or(0);
    for qualifier in KEY_QUALIFIERS.iter().cycle() {
        if len(&item.options[at]) > longest_other {
            break;
        }
        item.options[at].push_str(qualifier);
    }
    item.correct_answer = item.options[at].clone();
}

/// SplitMix64 over the three inputs, so nearby seeds, variations and positions give unrelated streams.
pub(crate) fn mix(a: u64, b: u64, c: u64) -> u64 {
    let mut x = a;
    for v in [b, c] {
        x = splitmix(x ^ splitmix(v));
    }
    x
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::exam::{DomainField, Question, key_is_strictly_longest, validate_item};
    use crate::simulator::tokens::estimate;

    /// The item as a full question, so the crate's own validator can judge it.
    pub(crate) fn as_question(item: &DraftItem, id: u32) -> Question {
        let kn = Kn::parse(&item.kn_id);
        Question {
            id,
            question: item.question.clone(),
            options: item.options.clone(),
            correct_answer: item.correct_answer.clone(),
            explanation: item.explanation.clone(),
            domain: kn.map_or(DomainField::Unrecognised(String::new()), |kn| kn.domain().into()),
            kn_id: item.kn_id.clone(),
            difficulty: item.difficulty.clone(),
            is_scored: true,
            kind: "standard".into(),
            extra: Default::default(),
        }
    }

    fn brief(variation: u64) -> ChunkBrief {
        ChunkBrief { items: Kn::all().collect(), variation, balance_lengths: false }
    }

    #[test]
    fn items_are_valid_synthetic_and_follow_the_brief() {
        let brief = brief(3);
        let items = write_items(11, &brief);
        assert_eq!(items.len(), brief.items.len());
        for (i, (item, kn)) in items.iter().zip(&brief.items).enumerate() {
            assert_eq!(item.kn_id, kn.to_string());
            assert!(item.question.starts_with("[simulated]"));
            let problems = validate_item(&as_question(item, i as u32 + 1));
            assert!(problems.is_empty(), "{problems:?}");
        }
    }

    #[test]
    fn items_cost_a_realistic_number_of_output_tokens() {
        let sizes: Vec<u64> = (0..10)
            .flat_map(|seed| write_items(seed, &brief(seed)))
            .map(|item| estimate(&serde_json::to_string(&item).unwrap()))
            .collect();
        assert!(sizes.iter().all(|t| (240..=380).contains(t)), "{sizes:?}");
        let mean = sizes.iter().sum::<u64>() / sizes.len() as u64;
        assert!((280..=320).contains(&mean), "mean {mean}");
    }

    #[test]
    fn most_keys_sit_at_option_b() {
        let items: Vec<_> = (0..20).flat_map(|v| write_items(1, &brief(v))).collect();
        let at_b = items.iter().filter(|i| i.options[1] == i.correct_answer).count();
        let share = at_b as f64 / items.len() as f64;
        assert!((0.74..0.86).contains(&share), "share at B {share}");
    }

    #[test]
    fn keys_are_the_longest_option_in_about_half_the_items_unless_balance_is_asked_for() {
        for (balance, share) in [(false, KEY_LONGEST), (true, KEY_LONGEST_BALANCED)] {
            let items: Vec<_> = (0..20)
                .flat_map(|v| write_items(2, &ChunkBrief { balance_lengths: balance, ..brief(v) }))
                .collect();
            let longest = items.iter().filter(|i| key_is_strictly_longest(&as_question(i, 1))).count() as f64;
            let measured = longest / items.len() as f64;
            assert!((measured - share).abs() < 0.06, "balance {balance}: share {measured}, expected {share}");
            for item in &items {
                assert!(validate_item(&as_question(item, 1)).is_empty(), "{}", item.options.join(" | "));
            }
        }
    }

    #[test]
    fn writing_is_deterministic_and_stems_stay_distinct() {
        assert_eq!(write_items(4, &brief(2)), write_items(4, &brief(2)));
        assert_ne!(write_items(4, &brief(2))[0].options, write_items(5, &brief(2))[0].options);
        let stems: HashSet<String> =
            (0..10).flat_map(|v| write_items(4, &brief(v))).map(|i| i.question.to_lowercase()).collect();
        assert_eq!(stems.len(), 10 * Kn::COUNT);
    }
}

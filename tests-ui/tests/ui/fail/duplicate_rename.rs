use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(rename = "Film", rename = "Picture")]
struct Movie {
    id: u64,
    #[hollow(rename = "name")]
    #[hollow(rename = "label")]
    title: String,
}

fn main() {}

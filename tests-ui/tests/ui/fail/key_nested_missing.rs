use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(nested)]
struct Actor {
    id: u64,
    name: String,
}

#[derive(Hollow)]
#[hollow(primary_key(actor.nope))]
struct Role {
    actor: Actor,
    character: String,
}

fn main() {}

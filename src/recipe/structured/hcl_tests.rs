//! HCL edits on real-world Terraform files, with the whole expected output.

use serde_json::json;

use super::super::testing::{
    append, check, check_once, conflict_at, delete, edit, ensure, parse_error, rename, set, when,
    where_,
};
use super::super::{EditError, Op};
use super::apply;

const VERSIONS_TF: &str = r#"# Provider and Terraform version constraints.
terraform {
  required_version = ">= 1.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 4.0" # bump with care
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.1"
    }
  }
}
"#;

const MAIN_TF: &str = r#"provider "aws" {
  region = var.region
}

// Network
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "3.19.0"

  name = "${var.prefix}-vpc"
  cidr = "10.0.0.0/16"

  azs             = ["eu-west-1a", "eu-west-1b"]
  private_subnets = [
    "10.0.1.0/24",
    "10.0.2.0/24", # second AZ
  ]
  public_subnet_tags = { "kubernetes.io/role/elb" = 1, Tier = "public" }

  tags = local.tags
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 19.0"

  cluster_name = "${var.prefix}-eks"
  /* pinned
     until the upgrade */
  cluster_version = "1.27"
}

resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  user_data = <<-EOT
    #!/bin/bash
    echo "${var.greeting}"
  EOT

  lifecycle {
    ignore_changes = [ami]
  }
}
"#;

#[test]
fn bump_the_aws_provider() {
    check(
        apply,
        VERSIONS_TF,
        &[where_(
            when(
                set("terraform.required_providers.aws.version", json!("~> 5.0")),
                r"^~> 4\.",
            ),
            "terraform.required_providers.aws.source",
            "^hashicorp/aws$",
        )],
        r#"# Provider and Terraform version constraints.
terraform {
  required_version = ">= 1.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0" # bump with care
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.1"
    }
  }
}
"#,
        &[1],
    );
}

#[test]
fn when_and_where_that_do_not_match_change_nothing() {
    check(
        apply,
        VERSIONS_TF,
        &[
            when(
                set("terraform.required_providers.*.version", json!("~> 6.0")),
                r"^~> 5\.",
            ),
            where_(
                set("terraform.required_version", json!(">= 1.5")),
                "terraform.required_providers.aws.source",
                "^other/aws$",
            ),
            // A `where` path that selects nothing does not hold.
            where_(
                set("terraform.required_version", json!(">= 1.5")),
                "terraform.backend",
                ".",
            ),
        ],
        VERSIONS_TF,
        &[0, 0, 0],
    );
}

#[test]
fn module_versions_by_label_and_by_wildcard() {
    check(
        apply,
        MAIN_TF,
        &[
            when(set("module.vpc.version", json!("5.1.2")), r"^3\."),
            when(set("module.*.version", json!("~> 20.0")), r"^~> 19\."),
            set("resource.aws_instance.*.instance_type", json!("t3.small")),
            set(
                "module.vpc.public_subnet_tags.\"kubernetes.io/role/elb\"",
                json!("1"),
            ),
        ],
        r#"provider "aws" {
  region = var.region
}

// Network
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.1.2"

  name = "${var.prefix}-vpc"
  cidr = "10.0.0.0/16"

  azs             = ["eu-west-1a", "eu-west-1b"]
  private_subnets = [
    "10.0.1.0/24",
    "10.0.2.0/24", # second AZ
  ]
  public_subnet_tags = { "kubernetes.io/role/elb" = "1", Tier = "public" }

  tags = local.tags
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.0"

  cluster_name = "${var.prefix}-eks"
  /* pinned
     until the upgrade */
  cluster_version = "1.27"
}

resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.small"

  user_data = <<-EOT
    #!/bin/bash
    echo "${var.greeting}"
  EOT

  lifecycle {
    ignore_changes = [ami]
  }
}
"#,
        &[1, 1, 1, 1],
    );
}

#[test]
fn when_sees_strings_decoded_and_templates_as_written() {
    check(
        apply,
        "a = \"say \\\"hi\\\"\"\nb = \"${var.x}-y\"\nc = 3\nd = true\ne = var.z\n",
        &[
            when(set("a", json!("said")), r#"^say "hi"$"#),
            // With a `when`, `$` expands captures: `$$` is a `$`.
            when(set("b", json!("$${var.x}-z")), r"^\$\{var\.x\}-y$"),
            when(set("c", json!(4)), "^3$"),
            when(set("d", json!(false)), "^true$"),
            // An expression is not a scalar.
            when(set("e", json!("z")), "."),
        ],
        "a = \"said\"\nb = \"${var.x}-z\"\nc = 4\nd = false\ne = var.z\n",
        &[1, 1, 1, 1, 0],
    );
}

#[test]
fn append_to_tuples_of_both_layouts() {
    check(
        apply,
        MAIN_TF,
        &[
            append("module.vpc.private_subnets", json!("10.0.3.0/24")),
            append("module.vpc.azs", json!("eu-west-1c")),
            append("module.vpc.azs", json!("eu-west-1a")),
            // Absent: created with its one item.
            append("module.eks.cluster_addons", json!("coredns")),
        ],
        r#"provider "aws" {
  region = var.region
}

// Network
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "3.19.0"

  name = "${var.prefix}-vpc"
  cidr = "10.0.0.0/16"

  azs             = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  private_subnets = [
    "10.0.1.0/24",
    "10.0.2.0/24", # second AZ
    "10.0.3.0/24",
  ]
  public_subnet_tags = { "kubernetes.io/role/elb" = 1, Tier = "public" }

  tags = local.tags
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 19.0"

  cluster_name = "${var.prefix}-eks"
  /* pinned
     until the upgrade */
  cluster_version = "1.27"
  cluster_addons = ["coredns"]
}

resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  user_data = <<-EOT
    #!/bin/bash
    echo "${var.greeting}"
  EOT

  lifecycle {
    ignore_changes = [ami]
  }
}
"#,
        &[1, 1, 0, 1],
    );
}

#[test]
fn append_to_a_tuple_without_a_trailing_comma_and_to_an_empty_one() {
    check(
        apply,
        "a = [\n  1,\n  2 # two\n]\nb = []\nc = [1, 2,]\n",
        &[
            append("a", json!(3)),
            append("b", json!("x")),
            append("c", json!(3)),
        ],
        "a = [\n  1,\n  2, # two\n  3\n]\nb = [\"x\"]\nc = [1, 2, 3,]\n",
        &[1, 1, 1],
    );
}

#[test]
fn ensure_adds_attributes_and_object_keys_in_place() {
    check(
        apply,
        VERSIONS_TF,
        &[
            ensure("terraform.required_version", json!(">= 1.5")),
            ensure(
                "terraform.required_providers.google",
                json!({"source": "hashicorp/google", "version": "~> 5.0"}),
            ),
            ensure(
                "terraform.required_providers.aws.configuration_aliases",
                json!([]),
            ),
            ensure("terraform.experiments.x", json!(1)),
        ],
        r#"# Provider and Terraform version constraints.
terraform {
  required_version = ">= 1.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 4.0" # bump with care
      configuration_aliases = []
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.1"
    }
    google = { source = "hashicorp/google", version = "~> 5.0" }
  }
}
"#,
        &[0, 1, 1, 0],
    );
}

#[test]
fn set_creates_keys_in_blocks_objects_and_the_file() {
    check(
        apply,
        "terraform {}\n\nlocals {\n  tags = {}\n  # nothing else yet\n  extra = { a = 1 }\n}\n",
        &[
            set("terraform.required_version", json!(">= 1.5")),
            set("locals.tags.Team", json!("platform")),
            set("locals.extra.b.c", json!(true)),
            set("region", json!("eu-west-1")),
        ],
        "terraform {\n  required_version = \">= 1.5\"\n}\n\nlocals {\n  tags = { Team = \"platform\" }\n  # nothing else yet\n  extra = { a = 1, b = { c = true } }\n}\nregion = \"eu-west-1\"\n",
        &[1, 1, 1, 1],
    );
    check(
        apply,
        "region = \"eu-west-1\"\ninstance_count = 2\n\n# tuned by hand\nmodule \"x\" {\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n",
        &[
            set("instance_count", json!(3)),
            ensure("enable_dns", json!(true)),
            ensure("module.x.count", json!(1)),
        ],
        "region = \"eu-west-1\"\ninstance_count = 3\nenable_dns = true\n\n# tuned by hand\nmodule \"x\" {\n  count = 1\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n",
        &[1, 1, 1],
    );
}

#[test]
fn blocks_are_never_created() {
    check(
        apply,
        VERSIONS_TF,
        &[
            set("terraform.backend.s3.bucket", json!("b")),
            set("module.vpc.version", json!("1")),
            set("provider.aws.region", json!("x")),
        ],
        VERSIONS_TF,
        &[0, 0, 0],
    );
}

#[test]
fn delete_removes_lines_with_their_comments() {
    check(
        apply,
        MAIN_TF,
        &[
            delete("module.vpc.tags"),
            delete("module.eks.cluster_version"),
            when(delete("module.vpc.private_subnets[*]"), r"^10\.0\.2\."),
            delete("module.vpc.public_subnet_tags.Tier"),
            delete("resource.aws_instance.web.lifecycle"),
        ],
        r#"provider "aws" {
  region = var.region
}

// Network
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "3.19.0"

  name = "${var.prefix}-vpc"
  cidr = "10.0.0.0/16"

  azs             = ["eu-west-1a", "eu-west-1b"]
  private_subnets = [
    "10.0.1.0/24",
  ]
  public_subnet_tags = { "kubernetes.io/role/elb" = 1 }
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 19.0"

  cluster_name = "${var.prefix}-eks"
}

resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  user_data = <<-EOT
    #!/bin/bash
    echo "${var.greeting}"
  EOT
}
"#,
        &[1, 1, 1, 1, 1],
    );
}

#[test]
fn delete_whole_blocks() {
    check(
        apply,
        MAIN_TF,
        &[delete("module.vpc"), delete("provider")],
        r#"module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 19.0"

  cluster_name = "${var.prefix}-eks"
  /* pinned
     until the upgrade */
  cluster_version = "1.27"
}

resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  user_data = <<-EOT
    #!/bin/bash
    echo "${var.greeting}"
  EOT

  lifecycle {
    ignore_changes = [ami]
  }
}
"#,
        &[1, 1],
    );
}

#[test]
fn delete_items_of_one_line_tuples_and_objects() {
    check_once(
        apply,
        "a = [1, 2, 3, 4]\nb = { x = 1, y = 2, z = 3 }\nc = [1, 2]\n",
        &[
            delete("a[0]"),
            delete("a[-1]"),
            delete("b.y"),
            delete("b.z"),
            delete("c[*]"),
        ],
        "a = [2, 3]\nb = { x = 1 }\nc = []\n",
        &[1, 1, 1, 1, 2],
    );
    check(
        apply,
        "a = [1, 2, 3, 4, 5]\n",
        &[when(delete("a[*]"), "^[1245]$")],
        "a = [3]\n",
        &[4],
    );
}

#[test]
fn rename_attributes_keys_and_labels() {
    check(
        apply,
        MAIN_TF,
        &[
            rename("module.vpc", "network"),
            rename("module.network.azs", "availability_zones"),
            rename("module.network.public_subnet_tags.Tier", "tier"),
            rename(
                "module.network.public_subnet_tags.\"kubernetes.io/role/elb\"",
                "elb",
            ),
        ],
        r#"provider "aws" {
  region = var.region
}

// Network
module "network" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "3.19.0"

  name = "${var.prefix}-vpc"
  cidr = "10.0.0.0/16"

  availability_zones             = ["eu-west-1a", "eu-west-1b"]
  private_subnets = [
    "10.0.1.0/24",
    "10.0.2.0/24", # second AZ
  ]
  public_subnet_tags = { "elb" = 1, tier = "public" }

  tags = local.tags
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 19.0"

  cluster_name = "${var.prefix}-eks"
  /* pinned
     until the upgrade */
  cluster_version = "1.27"
}

resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  user_data = <<-EOT
    #!/bin/bash
    echo "${var.greeting}"
  EOT

  lifecycle {
    ignore_changes = [ami]
  }
}
"#,
        &[1, 1, 1, 1],
    );
}

#[test]
fn rename_onto_an_existing_name_is_a_conflict() {
    let err = apply(MAIN_TF, &[rename("module.vpc.cidr", "name")]).unwrap_err();
    assert_eq!(
        err,
        EditError::Conflict {
            edit: 0,
            op: Op::Rename,
            path: "module.vpc.cidr".into(),
            line: 11,
            message: "the key `name` already exists".into(),
        }
    );
    let renamed = |path, to| conflict_at(apply, MAIN_TF, &[rename(path, to)]);
    assert_eq!(renamed("module.vpc", "eks"), (0, 6));
    assert_eq!(renamed("module.vpc.cidr", "not valid"), (0, 11));
}

#[test]
fn impossible_edits_are_conflicts_with_their_line() {
    for (edits, edit, line) in [
        (vec![append("module.vpc.cidr", json!("x"))], 0, 11),
        (vec![append("module.vpc.tags", json!("x"))], 0, 20),
        (
            vec![
                set("module.vpc.cidr", json!("10.1.0.0/16")),
                set("module.eks", json!("x")),
            ],
            1,
            23,
        ),
        (vec![edit(Op::Set, "module.vpc.cidr")], 0, 11),
        (vec![rename("module.vpc.azs[0]", "x")], 0, 13),
    ] {
        assert_eq!(
            conflict_at(apply, MAIN_TF, &edits),
            (edit, line),
            "{edits:?}"
        );
    }
}

#[test]
fn a_result_that_does_not_parse_is_a_conflict() {
    let err = apply(
        "a = 1\nb = 2\n",
        &[set("a", json!(2)), set("b", json!("${oops"))],
    )
    .unwrap_err();
    assert!(
        matches!(&err, EditError::Conflict { edit: 1, line: 2, message, .. } if message.starts_with("the result is not valid HCL")),
        "{err:?}"
    );
}

#[test]
fn an_invalid_file_is_a_parse_error_with_its_line() {
    for (text, line) in [
        ("a = 1\nb {\n  c = \n", 2),
        ("a = 1\nb = [1,\nc = 2\n", 2),
        ("x {\n  a = 1\n  b = = 2\n}\n", 3),
        ("a = 1\nb {\n  c = 2\n", 4),
    ] {
        parse_error(apply, text, &[delete("a")], "hcl", line);
    }
}

#[test]
fn nothing_to_do_returns_the_text_as_it_was() {
    check(
        apply,
        MAIN_TF,
        &[
            delete("module.nothing"),
            set("module.vpc.cidr", json!("10.0.0.0/16")),
        ],
        MAIN_TF,
        &[0, 0],
    );
    check(apply, "", &[ensure("a", json!(1))], "a = 1\n", &[1]);
}

#[test]
fn deleting_neighbours_takes_the_lines_between_once() {
    check(
        apply,
        "a = 1\n\nb {\n  c = 2\n}\n\n# d\nd = 3\n",
        &[delete("*")],
        "",
        &[3],
    );
    check(
        apply,
        "x {\n  a = 1\n\n  b = 2\n\n  c = 3\n}\n",
        &[when(delete("x.*"), "^[12]$")],
        "x {\n  c = 3\n}\n",
        &[2],
    );
}

#[test]
fn windows_line_endings_stay() {
    check(
        apply,
        "x {\r\n  a = 1\r\n}\r\n",
        &[set("x.a", json!(2)), ensure("x.b", json!("c"))],
        "x {\r\n  a = 2\r\n  b = \"c\"\r\n}\r\n",
        &[1, 1],
    );
}

/// Found by `proptests`: `-1` is `-` applied to `1` in HCL, which was no
/// literal, so an item `[-1]` never equalled the value and was appended
/// again on every run.
#[test]
fn negative_numbers_are_values_so_appending_one_twice_adds_it_once() {
    check(
        apply,
        "\n",
        &[append("a", json!([-1]))],
        "\na = [[-1]]\n",
        &[1],
    );
    check(
        apply,
        "a = [- 1, 2]\nb = -2.5\n",
        &[append("a", json!(-1)), when(set("b", json!(3)), "^-2.5$")],
        "a = [- 1, 2]\nb = 3\n",
        &[0, 1],
    );
}
